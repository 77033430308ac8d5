//! moto_server (PyPI `moto[server]`, in the venv `scripts/test.sh` makes
//! under the target folder) as a real S3 API on a loopback port for the S3
//! offsite tests: started by a test holding [`super::heavy`], waited for,
//! killed when dropped. A missing venv fails the test, saying to run
//! scripts/test.sh.

use super::assert_heavy;
use super::proc::{Proc, free_port, spawn, wait_for};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The venv holding moto: `ONEC_TEST_MOTO_VENV`, else
/// `${CARGO_TARGET_DIR:-target}/venv-moto`.
pub fn venv() -> PathBuf {
    if let Some(p) = std::env::var_os("ONEC_TEST_MOTO_VENV") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join("venv-moto");
    assert!(
        venv.join("bin/moto_server").exists(),
        "{} is missing: run `bash scripts/test.sh` once (it makes the venv with \
         `python3 -m venv` and `pip install moto[server]`), or set ONEC_TEST_MOTO_VENV",
        venv.display()
    );
    venv
}

/// A running moto_server.
pub struct Moto {
    pub port: u16,
    /// Its output, for failure messages.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
    _proc: Proc,
}

impl Moto {
    /// Start moto with its environment plus `env` (for example
    /// `S3_UPLOAD_PART_MIN_SIZE`, `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start(env: &[(&str, &str)]) -> Moto {
        assert_heavy("moto_server");
        let bin = venv().join("bin/moto_server");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let port = free_port();
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(&bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let proc = spawn(&mut cmd);
        let moto = Moto {
            port,
            log,
            _dir: dir,
            _proc: proc,
        };
        wait_for("moto_server to listen", Duration::from_secs(60), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Run a Python snippet in moto's venv (boto3 is there) with
    /// `ENDPOINT` set to this server; returns its stdout.
    pub fn python(&self, code: &str) -> String {
        let out = Command::new(venv().join("bin/python"))
            .args(["-c", code])
            .env("ENDPOINT", self.endpoint())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed: {}\nmoto log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A key pair moto checks requests against.
pub struct Keys {
    pub id: String,
    pub secret: String,
}

impl Moto {
    /// moto checking every S3 request's signature (as AWS does), with parts
    /// down to `min_part` bytes allowed; returns it and a key pair allowed
    /// `s3:*`. The first three requests (creating the IAM user, its key and
    /// its policy) are the only unsigned ones moto lets through.
    pub fn start_checking_signatures(min_part: u64) -> (Moto, Keys) {
        let moto = Moto::start(&[
            ("INITIAL_NO_AUTH_ACTION_COUNT", "3"),
            ("S3_UPLOAD_PART_MIN_SIZE", &min_part.to_string()),
        ]);
        let out = moto.python(
            r#"
import boto3, json, os
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="backup")
k = iam.create_access_key(UserName="backup")["AccessKey"]
iam.put_user_policy(UserName="backup", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
print(k["AccessKeyId"], k["SecretAccessKey"])
"#,
        );
        let mut it = out.split_whitespace();
        let (Some(id), Some(secret)) = (it.next(), it.next()) else {
            panic!("no key pair from moto: {out:?}");
        };
        let keys = Keys {
            id: id.to_string(),
            secret: secret.to_string(),
        };
        (moto, keys)
    }
}
