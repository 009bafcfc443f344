//! Calendar keys of counter rows, from a request's time in the log (UTC).

use chrono::{Datelike, NaiveDateTime, Timelike};

/// Returns the day, as `2018-02-06`.
pub fn day(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Returns the ISO week, as `2018-W06`.
pub fn week(at: NaiveDateTime) -> String {
    at.format("%G-W%V").to_string()
}

/// Returns the year.
pub fn year(at: NaiveDateTime) -> i32 {
    at.year()
}

/// Returns the hour of the day, 0 to 23.
pub fn hour(at: NaiveDateTime) -> i32 {
    at.hour() as i32
}
