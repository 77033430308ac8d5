//! PROVISIONAL placeholder so config compiles before the retention branch
//! merges; replaced wholesale by the real planner.
use jiff::SignedDuration;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeepPolicy {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub half_yearly: Option<u32>,
    pub yearly: Option<u32>,
    pub within: Option<SignedDuration>,
}

impl KeepPolicy {
    pub fn parse_within(s: &str) -> Result<SignedDuration, String> {
        let d: u64 = s
            .trim_end_matches('d')
            .parse()
            .map_err(|_| "x".to_string())?;
        Ok(SignedDuration::from_hours(d as i64 * 24))
    }
}
