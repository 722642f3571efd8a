//! Calendar arithmetic for the rules. Years are added as the policy and
//! EU Regulation 1182/71 count them: the same day, or the month's last day
//! where that day does not exist (29 February).

use chrono::{Datelike, Months, NaiveDate};

/// `date` plus `years` calendar years, clamped to the month's last day.
pub fn add_years(date: NaiveDate, years: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// `date` plus `months` calendar months, clamped to the month's last day.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// Whether `date` is the last day of its month.
pub fn is_month_end(date: NaiveDate) -> bool {
    date.succ_opt().is_none_or(|next| next.month() != date.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn leap_day_becomes_the_last_day_of_february() {
        assert_eq!(add_years(d(2024, 2, 29), 5), Some(d(2029, 2, 28)));
        assert_eq!(add_years(d(2024, 2, 29), 4), Some(d(2028, 2, 29)));
        assert_eq!(add_years(d(2021, 2, 28), 3), Some(d(2024, 2, 28)));
        assert_eq!(add_months(d(2026, 1, 31), 1), Some(d(2026, 2, 28)));
        assert_eq!(add_months(d(2026, 3, 31), 1), Some(d(2026, 4, 30)));
    }

    proptest! {
        #[test]
        fn adding_years_keeps_the_day_or_clamps(y in 1900i32..2500, doy in 0u32..366, n in 0u32..120) {
            let start = d(y, 1, 1) + chrono::Days::new(u64::from(doy));
            let end = add_years(start, n);
            prop_assert!(end.is_some());
            let end = end.unwrap_or(start);
            prop_assert_eq!(end.year(), start.year() + n as i32);
            prop_assert_eq!(end.month(), start.month());
            if end.day() != start.day() {
                prop_assert!(is_month_end(end) && end.day() < start.day());
            }
        }
    }
}
