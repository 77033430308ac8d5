//! The Prometheus remote-write 1.0 wire format: the protobuf messages of
//! `prompb/remote.proto` and `types.proto` (only the fields we send),
//! derived with `prost` so no `protoc` is needed, and the encoder from our
//! metric families to a snappy-compressed `WriteRequest`.
//!
//! One tick becomes one [`Batch`]: its time series (one sample each, as
//! Prometheus itself sends them) encoded once and kept snappy-compressed
//! while it waits in the queue. A protobuf message is the concatenation of
//! its fields, so a request is simply the queued batches' bytes one after
//! another, then the metadata, compressed again as one snappy block.

use crate::export::{Family, Kind};
use prost::Message;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`: labels sorted by name, samples by time.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata` (type, family name, help).
#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadata {
    /// [`COUNTER`] or [`GAUGE`] (`MetricMetadata.MetricType`).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
}

pub const COUNTER: i32 = 1;
pub const GAUGE: i32 = 2;

/// The headers every remote-write request carries (besides auth).
pub const HEADERS: [(&str, &str); 3] = [
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// Labels the sender adds to every series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub job: String,
    pub instance: String,
}

/// The series of one tick: each sample its own series with `__name__`,
/// `job`, `instance` and the family's labels, sorted by name. Empty label
/// values are left out (Prometheus treats them as absent); a family label
/// named `job` or `instance` becomes `exported_job` / `exported_instance`,
/// as a Prometheus scrape would do.
pub fn series(families: &[Family], at_ms: i64, t: &Target) -> Vec<TimeSeries> {
    let mut out = Vec::with_capacity(families.iter().map(|f| f.samples.len()).sum());
    for f in families {
        for s in &f.samples {
            let mut labels = vec![
                label("__name__", f.name),
                label("job", &t.job),
                label("instance", &t.instance),
            ];
            s.labels.for_each(|k, v| {
                if v.is_empty() {
                    return;
                }
                let name = match k {
                    "job" | "instance" => format!("exported_{k}"),
                    _ => k.to_string(),
                };
                labels.push(Label {
                    name,
                    value: v.to_string(),
                });
            });
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            out.push(TimeSeries {
                labels,
                samples: vec![Sample {
                    value: s.value,
                    timestamp: at_ms,
                }],
            });
        }
    }
    out
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Type and help of every family.
pub fn metadata(families: &[Family]) -> Vec<MetricMetadata> {
    families
        .iter()
        .map(|f| MetricMetadata {
            r#type: match f.kind {
                Kind::Counter => COUNTER,
                Kind::Gauge => GAUGE,
            },
            metric_family_name: f.name.to_string(),
            help: f.help.to_string(),
        })
        .collect()
}

/// The metadata as `WriteRequest` field bytes, to append to a request.
pub fn metadata_bytes(families: &[Family]) -> Vec<u8> {
    WriteRequest {
        timeseries: Vec::new(),
        metadata: metadata(families),
    }
    .encode_to_vec()
}

/// One tick, encoded and compressed, waiting to be sent.
#[derive(Debug, Clone)]
pub struct Batch {
    pub at_ms: i64,
    pub samples: usize,
    /// Snappy block of the `WriteRequest.timeseries` field bytes.
    pub compressed: Vec<u8>,
}

impl super::queue::Item for Batch {
    fn samples(&self) -> usize {
        self.samples.max(1)
    }
    fn at_ms(&self) -> i64 {
        self.at_ms
    }
}

/// Encode one tick.
pub fn batch(families: &[Family], at_ms: i64, t: &Target) -> Batch {
    let timeseries = series(families, at_ms, t);
    let samples = timeseries.len();
    let bytes = WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
    .encode_to_vec();
    Batch {
        at_ms,
        samples,
        compressed: compress(&bytes),
    }
}

/// The body of one request: the batches' series in order, then
/// `metadata` (from [`metadata_bytes`]), as one snappy block.
pub fn body(batches: &[Batch], metadata: &[u8]) -> Result<Vec<u8>, snap::Error> {
    let mut raw = Vec::new();
    let mut dec = snap::raw::Decoder::new();
    for b in batches {
        raw.extend_from_slice(&dec.decompress_vec(&b.compressed)?);
    }
    raw.extend_from_slice(metadata);
    Ok(compress(&raw))
}

/// Snappy block compression (not the framed stream format).
pub fn compress(raw: &[u8]) -> Vec<u8> {
    // Only fails for inputs over ~4 GiB; a tick is a few hundred KiB.
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

/// Decode a request body (tests and the loopback recorder).
pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("not a snappy block: {e}"))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| format!("not a WriteRequest: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Labels, Sample as S};

    fn families() -> Vec<Family> {
        vec![
            Family {
                name: "onec_cpu_percent",
                help: "CPU.",
                kind: Kind::Gauge,
                samples: vec![S {
                    labels: Labels::None,
                    value: 12.5,
                }],
            },
            Family {
                name: "onec_backup_runs_total",
                help: "Runs.",
                kind: Kind::Counter,
                samples: vec![
                    S {
                        labels: Labels::BaseStatus {
                            base: "buh".into(),
                            status: "ok",
                        },
                        value: 3.0,
                    },
                    S {
                        labels: Labels::BaseStatus {
                            base: String::new(),
                            status: "failed",
                        },
                        value: 1.0,
                    },
                ],
            },
            Family {
                name: "onec_rdp_sessions",
                help: "Empty.",
                kind: Kind::Gauge,
                samples: vec![],
            },
        ]
    }

    fn target() -> Target {
        Target {
            job: "onec_backup_bot".into(),
            instance: "srv-1c".into(),
        }
    }

    fn names(ts: &TimeSeries) -> Vec<(&str, &str)> {
        ts.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn labels_are_sorted_with_name_job_and_instance() {
        let s = series(&families(), 1_700_000_000_250, &target());
        assert_eq!(s.len(), 3);
        assert_eq!(
            names(&s[0]),
            [
                ("__name__", "onec_cpu_percent"),
                ("instance", "srv-1c"),
                ("job", "onec_backup_bot")
            ]
        );
        assert_eq!(
            names(&s[1]),
            [
                ("__name__", "onec_backup_runs_total"),
                ("base", "buh"),
                ("instance", "srv-1c"),
                ("job", "onec_backup_bot"),
                ("status", "ok")
            ]
        );
        // An empty label value is no label.
        assert!(!names(&s[2]).iter().any(|(k, _)| *k == "base"));
        assert_eq!(
            s[0].samples,
            [Sample {
                value: 12.5,
                timestamp: 1_700_000_000_250
            }]
        );
    }

    #[test]
    fn batches_round_trip_through_snappy_and_prost_in_order() {
        let t = target();
        let a = batch(&families(), 1000, &t);
        let b = batch(&families(), 2000, &t);
        assert_eq!(a.samples, 3);
        let meta = metadata_bytes(&families());
        let req = decode(&body(&[a, b], &meta).unwrap()).unwrap();
        assert_eq!(req.timeseries.len(), 6);
        let times: Vec<i64> = req
            .timeseries
            .iter()
            .map(|s| s.samples[0].timestamp)
            .collect();
        assert_eq!(times, [1000, 1000, 1000, 2000, 2000, 2000]);
        assert_eq!(req.timeseries[..3], series(&families(), 1000, &t)[..]);
        assert_eq!(req.metadata.len(), 3);
        assert_eq!(req.metadata[1].r#type, COUNTER);
        assert_eq!(req.metadata[1].metric_family_name, "onec_backup_runs_total");
        assert_eq!(req.metadata[0].help, "CPU.");
    }

    #[test]
    fn snappy_round_trip_and_garbage_is_refused() {
        let raw: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let c = compress(&raw);
        assert!(c.len() < raw.len());
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&c).unwrap(), raw);
        assert!(decode(b"definitely not snappy").is_err());
    }

    #[test]
    fn many_labels_sort_among_name_job_and_instance() {
        let f = vec![Family {
            name: "x",
            help: "",
            kind: Kind::Gauge,
            samples: vec![S {
                labels: Labels::System {
                    hostname: "h".into(),
                    os: "linux".into(),
                    os_version: String::new(),
                    kernel: "6".into(),
                    arch: "x86_64".into(),
                },
                value: 1.0,
            }],
        }];
        let s = series(&f, 0, &target());
        let n: Vec<&str> = s[0].labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            n,
            [
                "__name__", "arch", "hostname", "instance", "job", "kernel", "os"
            ]
        );
    }
}
