//! Calendar keys of counter rows, from a request's time in the log (UTC).

use chrono::{Datelike, NaiveDateTime, Timelike};

/// The day, as `2018-02-06`.
pub fn day(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The ISO week, as `2018-W06`.
pub fn week(at: NaiveDateTime) -> String {
    at.format("%G-W%V").to_string()
}

/// The year.
pub fn year(at: NaiveDateTime) -> i32 {
    at.year()
}

/// The hour of the day, 0 to 23.
pub fn hour(at: NaiveDateTime) -> i32 {
    at.hour() as i32
}
