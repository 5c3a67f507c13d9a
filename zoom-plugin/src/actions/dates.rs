//! Zoom's date ranges (recordings, reports): `from` and `to` as
//! `yyyy-mm-dd` (the schema's `format: date`, checked by the host), given
//! together, `from` not after `to`, and at most one month apart, since Zoom
//! answers one month of data per request. A longer range is refused here,
//! naming the params, rather than answered short by Zoom.

use serde_json::{Value, json};
use soar_plugin_sdk::ActionError;

use crate::errors::invalid_input;
use crate::params::Params;

/// The `from` and `to` params; `what` says what they bound.
pub fn range(what: &str) -> Value {
    json!({
        "from": {
            "type": "string",
            "format": "date",
            "description": format!("First day of the {what}, yyyy-mm-dd (UTC); needs `to`, at most one month later"),
        },
        "to": {
            "type": "string",
            "format": "date",
            "description": format!("Last day of the {what}, yyyy-mm-dd (UTC); needs `from`"),
        },
    })
}

/// The range's query pairs, once its rules hold (none when neither is given).
pub fn query(params: &Params) -> Result<Vec<(String, String)>, ActionError> {
    let (from, to) = match (params.opt_string("from")?, params.opt_string("to")?) {
        (None, None) => return Ok(Vec::new()),
        (Some(from), Some(to)) => (from, to),
        (Some(_), None) => return Err(invalid_input("param `from` needs `to` as well")),
        (None, Some(_)) => return Err(invalid_input("param `to` needs `from` as well")),
    };
    let start = parse("from", &from)?;
    let end = parse("to", &to)?;
    if end < start {
        return Err(invalid_input(format!(
            "param `to` ({to}) is before `from` ({from})"
        )));
    }
    if end > one_month_after(start) {
        return Err(invalid_input(format!(
            "params `from` and `to` span more than one month ({from} to {to}); \
             Zoom answers one month at a time: split the range"
        )));
    }
    Ok(vec![("from".into(), from), ("to".into(), to)])
}

/// `yyyy-mm-dd` as (year, month, day); the host has checked the format.
fn parse(name: &str, text: &str) -> Result<(u32, u32, u32), ActionError> {
    let bad = || invalid_input(format!("param `{name}` must be a date, yyyy-mm-dd"));
    let mut parts = text
        .splitn(3, '-')
        .map(|p| p.parse::<u32>().map_err(|_| bad()));
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok((y?, m?, d?))
}

/// The same day a month later, or that month's last day.
fn one_month_after((y, m, d): (u32, u32, u32)) -> (u32, u32, u32) {
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (y, m, d.min(days_in(y, m)))
}

fn days_in(y: u32, m: u32) -> u32 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(from: Option<&str>, to: Option<&str>) -> Result<usize, String> {
        let params: Params = serde_json::from_value(json!({"from": from, "to": to})).unwrap();
        query(&params).map(|q| q.len()).map_err(|e| e.message)
    }

    #[test]
    fn a_range_is_both_dates_in_order_within_a_month() {
        assert_eq!(check(None, None), Ok(0));
        assert_eq!(check(Some("2024-01-31"), Some("2024-02-29")), Ok(2));
        assert_eq!(check(Some("2023-12-15"), Some("2024-01-15")), Ok(2));
        assert_eq!(check(Some("2024-03-01"), Some("2024-03-01")), Ok(2));
        assert!(
            check(Some("2024-01-31"), Some("2024-03-01"))
                .unwrap_err()
                .contains("one month")
        );
        assert!(
            check(Some("2024-03-02"), Some("2024-03-01"))
                .unwrap_err()
                .contains("before")
        );
        assert!(
            check(Some("2024-03-02"), None)
                .unwrap_err()
                .contains("`from` needs `to`")
        );
        assert!(
            check(None, Some("2024-03-02"))
                .unwrap_err()
                .contains("`to` needs `from`")
        );
        assert_eq!(one_month_after((2023, 1, 31)), (2023, 2, 28));
    }
}
