//! The retry policy: which failures are worth another attempt, and when.
//!
//! - 429: wait as long as `Retry-After` says (delta-seconds, an HTTP date, or
//!   Zoom's ISO-8601 timestamp) when that fits the deadline; safe for any
//!   method, the upstream did not process the request.
//! - A failure to connect (refused, DNS, TLS handshake): nothing was sent;
//!   exponential backoff with jitter, for any request.
//! - 5xx and answers lost on the way: the request may have taken effect, so
//!   only requests that are safe to repeat ([`may_repeat`]) get the backoff:
//!   a POST create retried could create twice, a DELETE retried after it
//!   took effect would report "not found" for a delete that happened.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bindings::{HttpError, HttpResponse};
use crate::deadline::Deadline;

/// Attempts in all, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether a request may be sent again after it may have taken effect: GET,
/// HEAD and OPTIONS always; any other only when the plugin marks it
/// idempotent (PUT and DELETE count as marked) *and* the running call is
/// declared idempotent (`repeatable`) — a plugin's say-so alone does not
/// make a delete in a non-idempotent action safe to repeat.
pub fn may_repeat(method: &reqwest::Method, marked: bool, repeatable: bool) -> bool {
    use reqwest::Method;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let marked = marked || matches!(*method, Method::PUT | Method::DELETE);
    safe || (repeatable && marked)
}

/// Whether an attempt's request may have reached the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// No connection was made: nothing reached it.
    No,
    /// It may have (an answer came, or the connection broke after sending).
    Yes,
    /// The answer is final whatever it is (too large to take).
    Final,
}

/// How long to wait before the next attempt, or `None` to return `outcome`.
/// `idempotent`: the request may be repeated ([`may_repeat`]).
pub fn decide(
    outcome: &Result<HttpResponse, HttpError>,
    sent: Sent,
    idempotent: bool,
    attempt: u32,
    deadline: &Deadline,
) -> Option<Duration> {
    if attempt >= MAX_ATTEMPTS || sent == Sent::Final {
        return None;
    }
    let wait = match outcome {
        // The upstream refused to process it: safe for any method.
        Ok(r) if r.status == 429 => match retry_after(&r.headers, SystemTime::now()) {
            Some(wait) => wait,
            None => backoff(attempt),
        },
        Ok(r) if idempotent && matches!(r.status, 500 | 502 | 503 | 504) => backoff(attempt),
        Err(HttpError::Connect(_)) if idempotent || sent == Sent::No => backoff(attempt),
        _ => return None,
    };
    deadline.fits(wait).then_some(wait)
}

pub fn describe(outcome: &Result<HttpResponse, HttpError>) -> String {
    match outcome {
        Ok(r) => format!("HTTP {}", r.status),
        Err(HttpError::Connect(m) | HttpError::Timeout(m)) => m.clone(),
        Err(e) => format!("{e:?}"),
    }
}

/// `BASE * 2^(attempt-1)`, capped, with "full jitter" so that many clients
/// failing together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(10))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

pub fn retry_after_secs(headers: &[(String, String)]) -> Option<u64> {
    retry_after(headers, SystemTime::now()).map(|d| d.as_secs_f64().ceil() as u64)
}

/// `Retry-After` as a wait from `now`. Header names arrive lower-case.
pub fn retry_after(headers: &[(String, String)], now: SystemTime) -> Option<Duration> {
    let value = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?
        .1
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value)
        .ok()
        .or_else(|| parse_iso8601(value))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `2020-05-31T00:00:00Z`, with optional fraction and `±HH:MM` offset.
fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset_secs) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (clock, offset) = time.split_at(pos);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
        let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return None;
        }
        (clock, sign * (h * 3600 + m * 60))
    } else {
        (time, 0)
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (c.next()??, c.next()??, c.next().flatten().unwrap_or(0));
    // Four-digit years only: anything else is not a time Zoom means, and
    // would overflow the arithmetic below.
    if !(1..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
        || !(0..=60).contains(&second)
        || offset_secs.abs() > 24 * 3600
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> Vec<(String, String)> {
        vec![("retry-after".into(), v.into())]
    }

    #[test]
    fn retry_after_in_every_form() {
        let now = UNIX_EPOCH + Duration::from_secs(1_590_883_200 - 90); // 2020-05-30T23:58:30Z
        assert_eq!(retry_after(&header("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&header("2020-05-31T00:00:00Z"), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after(&header("2020-05-31T02:00:00+02:00"), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after(&header("Sun, 31 May 2020 00:00:00 GMT"), now),
            Some(Duration::from_secs(90))
        );
        // In the past: retry at once.
        assert_eq!(
            retry_after(&header("2020-05-30T00:00:00Z"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&header("soon"), now), None);
        assert_eq!(retry_after(&[], now), None);
    }

    #[test]
    fn absurd_dates_are_refused_not_overflowed() {
        let now = UNIX_EPOCH + Duration::from_secs(1_590_883_200);
        for v in [
            "9223372036854775807-01-01T00:00:00Z",
            "-9223372036854775808-01-01T00:00:00Z",
            "2020-01-01T00:00:00+9223372036854775807:00",
            "2020-01-01T99999999999999999:00:00Z",
            "0000-01-01T00:00:00Z",
        ] {
            assert_eq!(retry_after(&header(v), now), None, "{v}");
        }
        // A huge delta is a long wait, not a panic.
        let huge = retry_after(&header("18446744073709551615"), now).unwrap();
        assert!(!Deadline::after(Duration::from_secs(5)).fits(huge));
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_parses_without_panicking(v in "\\PC{0,48}", digits in "[0-9+:TZ.-]{0,40}") {
            let now = SystemTime::now();
            let _ = retry_after(&header(&v), now);
            let _ = retry_after(&header(&digits), now);
            let _ = retry_after_secs(&header(&digits));
        }
    }

    #[test]
    fn only_what_is_safe_to_repeat_is_repeated_after_it_may_have_taken_effect() {
        use reqwest::Method;
        let deadline = Deadline::after(Duration::from_secs(60));
        let answer = |status| {
            Ok(HttpResponse {
                status,
                headers: vec![],
                body: vec![],
            })
        };
        let dropped = || Err(HttpError::Connect("reset".into()));
        // (method, marked by the plugin, call declared idempotent) -> repeated after a 5xx
        for (method, marked, repeatable, expected) in [
            (Method::GET, false, false, true),
            (Method::HEAD, false, false, true),
            (Method::DELETE, true, false, false),
            (Method::DELETE, false, true, true),
            (Method::POST, true, false, false),
            (Method::POST, false, true, false),
            (Method::POST, true, true, true),
            (Method::PATCH, true, true, true),
            (Method::PUT, false, false, false),
        ] {
            let idempotent = may_repeat(&method, marked, repeatable);
            for outcome in [answer(503), dropped()] {
                assert_eq!(
                    decide(&outcome, Sent::Yes, idempotent, 1, &deadline).is_some(),
                    expected,
                    "{method} marked={marked} repeatable={repeatable} {outcome:?}"
                );
            }
            // Nothing sent: any request may go again.
            assert!(decide(&dropped(), Sent::No, idempotent, 1, &deadline).is_some());
            // The upstream did not process it.
            assert!(decide(&answer(429), Sent::Yes, idempotent, 1, &deadline).is_some());
            assert!(decide(&answer(400), Sent::Yes, idempotent, 1, &deadline).is_none());
            assert!(decide(&answer(503), Sent::Final, idempotent, 1, &deadline).is_none());
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..12 {
            let b = backoff(attempt);
            assert!(b <= MAX_BACKOFF, "{b:?}");
            assert!(b >= BASE_BACKOFF / 2, "{b:?}");
        }
    }
}
