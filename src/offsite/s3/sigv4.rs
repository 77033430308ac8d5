//! AWS Signature Version 4, written on `ring`'s HMAC and `sha2`: the
//! canonical request, the signing key of a day, region and service, and
//! the `Authorization` header; with the percent-encoding and digests the
//! S3 kind's requests need.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::offsite::http::percent_encode;
use sha2::{Digest as _, Sha256};

/// Who signs, for which region and service.
pub(super) struct Credentials<'a> {
    pub(super) key_id: &'a str,
    pub(super) secret: &'a str,
    pub(super) region: &'a str,
    pub(super) service: &'a str,
}

pub(super) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

/// The signing key of one day, region and service.
pub(super) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The canonical request of SigV4: `path` is the encoded URI as sent,
/// `query` raw pairs, `headers` every header to sign (lower-case names).
pub(super) fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload_hash: &str,
) -> (String, String) {
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k, false), percent_encode(v, false)))
        .collect();
    q.sort();
    let cq = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    h.sort();
    let ch: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = h
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (
        format!("{method}\n{path}\n{cq}\n{ch}\n{signed}\n{payload_hash}"),
        signed,
    )
}

/// The `Authorization` header of one request (`amz_date` as `20130524T000000Z`).
pub(super) fn authorization(
    c: &Credentials<'_>,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload_hash: &str,
    amz_date: &str,
) -> String {
    let (creq, signed) = canonical_request(method, path, query, headers, payload_hash);
    let date = &amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", c.region, c.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(creq.as_bytes())
    );
    let sig = hex(&hmac(
        &signing_key(c.secret, date, c.region, c.service),
        to_sign.as_bytes(),
    ));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
        c.key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const S3_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn s3_creds() -> Credentials<'static> {
        Credentials {
            key_id: "AKIAIOSFODNN7EXAMPLE",
            secret: S3_SECRET,
            region: "us-east-1",
            service: "s3",
        }
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sig(auth: &str) -> &str {
        auth.rsplit("Signature=").next().unwrap()
    }

    /// AWS docs, "Deriving the signing key" (IAM example).
    #[test]
    fn the_documented_signing_key() {
        let k = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    /// AWS S3 docs, "Signature calculation examples": GET Object with a Range.
    #[test]
    fn the_documented_get_object() {
        let auth = authorization(
            &s3_creds(),
            "GET",
            "/test.txt",
            &[],
            &h(&[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY),
                ("x-amz-date", "20130524T000000Z"),
            ]),
            EMPTY,
            "20130524T000000Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// The same page: PUT Object (a `$` in the key, a storage class header).
    #[test]
    fn the_documented_put_object() {
        let payload = sha256_hex(b"Welcome to Amazon S3.");
        assert_eq!(
            payload,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let auth = authorization(
            &s3_creds(),
            "PUT",
            &format!("/{}", percent_encode("test$file.text", true)),
            &[],
            &h(&[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", &payload),
            ]),
            &payload,
            "20130524T000000Z",
        );
        assert_eq!(
            sig(&auth),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    /// The signature of the documented page's bucket GETs with `query`.
    fn documented_bucket_get(query: &[(&str, &str)]) -> String {
        let auth = authorization(
            &s3_creds(),
            "GET",
            "/",
            &h(query),
            &h(&[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", EMPTY),
            ]),
            EMPTY,
            "20130524T000000Z",
        );
        sig(&auth).to_string()
    }

    /// The same page: GET Bucket lifecycle (an empty-valued query parameter).
    #[test]
    fn the_documented_get_lifecycle() {
        assert_eq!(
            documented_bucket_get(&[("lifecycle", "")]),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
    }

    /// The same page: GET Bucket (list objects), query sorted by name.
    #[test]
    fn the_documented_list_objects() {
        assert_eq!(
            documented_bucket_get(&[("prefix", "J"), ("max-keys", "2")]),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    /// The SigV4 test suite's `get-vanilla` (service "service").
    #[test]
    fn the_test_suite_get_vanilla() {
        let c = Credentials {
            key_id: "AKIDEXAMPLE",
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
        };
        let auth = authorization(
            &c,
            "GET",
            "/",
            &[],
            &h(&[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ]),
            EMPTY,
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn keys_are_encoded_like_sigv4_wants() {
        assert_eq!(
            percent_encode("База/a b+c~_.-$.zip", true),
            "%D0%91%D0%B0%D0%B7%D0%B0/a%20b%2Bc~_.-%24.zip"
        );
        assert_eq!(percent_encode("a/b=c", false), "a%2Fb%3Dc");
    }
}
