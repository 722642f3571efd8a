//! Deadlines for rights requests (SPEC 4.4, GDPR Art. 12(3)).
//!
//! # The rules
//!
//! - **One month.** A request is answered "without undue delay and in any event
//!   within one month of receipt" (Art. 12(3) GDPR). The GDPR counts periods as
//!   EU Regulation 1182/71 does (recital 119 of the GDPR refers to it): a period
//!   in months ends on the day of the last month bearing the same number as the
//!   day it runs from (art. 3(2)(c)), or that month's last day where it has no
//!   such day. So received 31 January → 28 (or 29) February; received 30 January
//!   in a leap year → 29 February. [`crate::dates::add_months`] does exactly that.
//! - **Working days.** A period whose last day is a Saturday, a Sunday or a
//!   public holiday ends with the next working day (art. 3(4)), repeatedly: a
//!   holiday Friday followed by a weekend moves to Monday, or further when the
//!   Monday is a holiday too. The public holidays are France's, where the
//!   controller is established and the CNIL supervises.
//! - **One extension.** The period "may be extended by two further months where
//!   necessary", with reasons, and the subject must be told within the first
//!   month: so only once, by 1 or 2 months, and only while the first deadline
//!   has not passed (the first deadline day itself still counts). The extended
//!   period is one period counted from receipt — received + 1 + N months, then
//!   moved to a working day — not chained from the moved first deadline, which
//!   would shift the day number (a first deadline moved from Saturday 28
//!   February to Monday 2 March must not make the extended one 2 May).
//!
//! - **Suspension.** While the controller awaits information it asked for to
//!   confirm the requester's identity (Art. 12(6)), the period is suspended
//!   (EDPB Guidelines 01/2022 on the right of access): the days awaited are
//!   added to the period's last day, counted from receipt as above (one month,
//!   plus the extension's months), and the sum is then moved to the next working
//!   day. A request may be suspended several times; the days add up. See
//!   [`deadline_in_force`].
//!
//! # French public holidays
//!
//! Metropolitan France's public holidays (Code du travail, art. L3133-1): 1
//! January, Easter Monday, 1 May, 8 May, Ascension Thursday (Easter + 39 days),
//! Whit Monday (Easter + 50 days), 14 July, 15 August, 1 November, 11 November
//! and 25 December.
//!
//! - Whit Monday is **included**: it is still a public holiday in law. Since
//!   2004 an employer may choose it as the "journée de solidarité" (art.
//!   L3133-7) and have staff work it, but that does not make it a working day
//!   for counting a legal period; counting it as a holiday can only give the
//!   subject's request one more day, never fewer, which is the safe side.
//! - Alsace-Moselle's extra days (Good Friday, 26 December) are **not**
//!   included: the rule is metropolitan France's general regime.
//! - Today's list is applied to every year (8 May was not a holiday from 1959
//!   to 1981); earlier years only matter to the tests' arithmetic.
//!
//! Easter, and the three holidays that follow it, are computed with the
//! anonymous Gregorian computus (Meeus/Jones/Butcher), never read from a table
//! of years, so the calendar never runs out. It is evaluated on chrono's
//! proleptic Gregorian calendar for every year chrono can represent.
//!
//! # Bound
//!
//! The longest run of consecutive non-working days is **4**, so a deadline
//! moves at most 4 days past its one-month date. It happens twice, only when
//! Easter falls on 22 March (1818, 2285: Ascension Thursday 30 April + Friday 1
//! May + weekend; and Friday 8 May + weekend + Whit Monday 11 May), and once
//! when Easter falls on 29 March (e.g. 1970, 2043: Ascension Thursday 7 May +
//! Friday 8 May + weekend). Every other holiday next to a weekend makes a run
//! of 3. The tests check this exhaustively over 1900–2500.
//!
//! Everything here is pure: no clock, "today" is an argument.

use crate::dates::add_months;
use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of `year` in the Gregorian calendar, by the anonymous
/// Gregorian computus (Meeus/Jones/Butcher). Always a Sunday between 22 March
/// and 25 April. None only where chrono cannot represent the year.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    // Euclidean division keeps the arithmetic periodic for negative
    // (proleptic) years; for positive years it is the usual one.
    let a = year.rem_euclid(19); // position in the 19-year Metonic cycle
    let b = year.div_euclid(100); // century
    let c = year.rem_euclid(100); // year in the century
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3); // lunar correction
    let h = (19 * a + b - d - g + 15).rem_euclid(30); // epact: days from 21 March to the paschal full moon
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7); // days to the following Sunday
    let m = (a + 11 * h + 22 * l).div_euclid(451); // the 19 April / 18 April exceptions
    let n = h + l - 7 * m + 114;
    let month = u32::try_from(n.div_euclid(31)).ok()?;
    let day = u32::try_from(n.rem_euclid(31) + 1).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The fixed-date holidays: (month, day, name).
const FIXED_HOLIDAYS: [(u32, u32, &str); 8] = [
    (1, 1, "Jour de l'an"),
    (5, 1, "Fête du Travail"),
    (5, 8, "Victoire 1945"),
    (7, 14, "Fête nationale"),
    (8, 15, "Assomption"),
    (11, 1, "Toussaint"),
    (11, 11, "Armistice 1918"),
    (12, 25, "Noël"),
];

/// The holidays that follow Easter: (days after Easter Sunday, name).
const EASTER_HOLIDAYS: [(u64, &str); 3] = [(1, "Lundi de Pâques"), (39, "Ascension"), (50, "Lundi de Pentecôte")];

/// French public holidays of `year` (metropolitan France), in date order, with
/// their French names. Always 11 entries; two may share a date (Ascension falls
/// on 1 May or 8 May in some years, e.g. 1 May 2008).
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = FIXED_HOLIDAYS.iter().filter_map(|&(m, d, name)| Some((NaiveDate::from_ymd_opt(year, m, d)?, name)));
    let movable = easter_sunday(year).into_iter().flat_map(|easter| {
        EASTER_HOLIDAYS
            .iter()
            .filter_map(move |&(offset, name)| Some((easter.checked_add_days(Days::new(offset))?, name)))
    });
    let mut all: Vec<_> = fixed.chain(movable).collect();
    all.sort_by_key(|&(date, _)| date);
    all
}

/// Whether `d` is a French public holiday (metropolitan France).
pub fn is_public_holiday(d: NaiveDate) -> bool {
    if FIXED_HOLIDAYS.iter().any(|&(m, day, _)| d.month() == m && d.day() == day) {
        return true;
    }
    easter_sunday(d.year()).is_some_and(|easter| {
        let offset = d.signed_duration_since(easter).num_days();
        EASTER_HOLIDAYS.iter().any(|&(days, _)| i64::try_from(days).is_ok_and(|days| days == offset))
    })
}

/// Whether `d` is a working day: neither a Saturday, a Sunday nor a public holiday.
pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(d)
}

/// The first working day on or after `d`; None past the end of chrono's calendar.
fn checked_next_working_day(d: NaiveDate) -> Option<NaiveDate> {
    let mut day = d;
    // At most 4 consecutive non-working days exist (module docs), so this
    // loops at most 5 times.
    while !is_working_day(day) {
        day = day.succ_opt()?;
    }
    Some(day)
}

/// `d` itself if it is a working day, else the next working day. At the very
/// end of chrono's calendar, where no next day exists, returns the last day
/// reached (dates that far out never occur; [`response_deadline`] returns None
/// there instead).
pub fn next_working_day(d: NaiveDate) -> NaiveDate {
    let mut day = d;
    while !is_working_day(day) {
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    day
}

/// The deadline to answer a request received on `received`: one month later
/// (same day number, or the month's last day), moved to the next working day.
/// None only where the date cannot be represented.
pub fn response_deadline(received: NaiveDate) -> Option<NaiveDate> {
    checked_next_working_day(add_months(received, 1)?)
}

/// The deadline once extended by `extra_months` (1 or 2) further months:
/// received + 1 + `extra_months` months, clamped to the month's end, moved to
/// the next working day. None when `extra_months` is not 1 or 2, or where the
/// date cannot be represented. Whether the extension is allowed is
/// [`can_extend`]'s question.
pub fn extended_deadline(received: NaiveDate, extra_months: u32) -> Option<NaiveDate> {
    if !(1..=2).contains(&extra_months) {
        return None;
    }
    checked_next_working_day(add_months(received, 1 + extra_months)?)
}

/// The deadline in force for a request received on `received`: one month plus `extra_months`
/// (0, or an extension's 1 or 2), plus the `suspended_days` its clock stood still while identity
/// information was awaited, then moved to the next working day. The days are added to the
/// period's last day before it is moved: received 31 January 2026 (one month: Saturday 28
/// February), 3 days awaited, ends Tuesday 3 March. `deadline_in_force(r, 0, 0)` is
/// [`response_deadline`]`(r)`, and `deadline_in_force(r, m, 0)` is [`extended_deadline`]`(r, m)`.
/// None when `extra_months` is above 2 or the date cannot be represented.
pub fn deadline_in_force(received: NaiveDate, extra_months: u32, suspended_days: u64) -> Option<NaiveDate> {
    if extra_months > 2 {
        return None;
    }
    let last_day = add_months(received, 1 + extra_months)?.checked_add_days(Days::new(suspended_days))?;
    checked_next_working_day(last_day)
}

/// The days a suspension that began on `since` lasted when it ends on `resumed`: the calendar
/// days between them (0 when it ends the day it began; never negative).
pub fn days_suspended(since: NaiveDate, resumed: NaiveDate) -> u64 {
    u64::try_from(resumed.signed_duration_since(since).num_days()).unwrap_or(0)
}

/// Why a deadline cannot be extended. Messages name the rule, never personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The deadline was already extended; Art. 12(3) allows one extension.
    #[error("the deadline has already been extended; Art. 12(3) GDPR allows a single extension")]
    AlreadyExtended,
    /// The extension is not 1 or 2 further months.
    #[error("an extension is 1 or 2 further months (Art. 12(3) GDPR), not {0}")]
    InvalidMonths(u32),
    /// Today is after the first deadline: the extension had to be decided before it.
    #[error("the first deadline ({deadline}) has passed; an extension must be decided no later than that day")]
    FirstDeadlinePassed { deadline: NaiveDate },
    /// A date outside the representable calendar.
    #[error("the deadline falls outside the supported calendar")]
    OutOfRange,
}

/// Whether the deadline of a request received on `received` may be extended
/// today by `extra_months`, and if so the extended deadline. The rules are
/// checked in this order: not already extended; 1 or 2 months; `today` not
/// after the first deadline (the deadline day itself is still in time).
pub fn can_extend(
    received: NaiveDate,
    today: NaiveDate,
    already_extended: bool,
    extra_months: u32,
) -> Result<NaiveDate, ExtensionError> {
    can_extend_suspended(received, today, already_extended, extra_months, 0)
}

/// [`can_extend`] for a request whose clock stood still `suspended_days` (identity information
/// awaited): the first deadline and the extended one both count those days, and `clock_day` is
/// the day the clock reads: today, or while it stands still, the day it stopped (a suspended
/// request's first deadline does not pass while its clock stands still).
pub fn can_extend_suspended(
    received: NaiveDate,
    clock_day: NaiveDate,
    already_extended: bool,
    extra_months: u32,
    suspended_days: u64,
) -> Result<NaiveDate, ExtensionError> {
    if already_extended {
        return Err(ExtensionError::AlreadyExtended);
    }
    if !(1..=2).contains(&extra_months) {
        return Err(ExtensionError::InvalidMonths(extra_months));
    }
    let deadline = deadline_in_force(received, 0, suspended_days).ok_or(ExtensionError::OutOfRange)?;
    if clock_day > deadline {
        return Err(ExtensionError::FirstDeadlinePassed { deadline });
    }
    deadline_in_force(received, extra_months, suspended_days).ok_or(ExtensionError::OutOfRange)
}

/// Days from `today` to `deadline`: 0 on the deadline day itself (still in
/// time), negative once overdue (-1 the day after).
pub fn days_left(deadline: NaiveDate, today: NaiveDate) -> i64 {
    deadline.signed_duration_since(today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    /// An independent computus (Oudin, 1940) to cross-check Meeus/Jones/Butcher.
    fn easter_oudin(y: i32) -> NaiveDate {
        let g = y % 19;
        let c = y / 100;
        let h = (c - c / 4 - (8 * c + 13) / 25 + 19 * g + 15) % 30;
        let i = h - (h / 28) * (1 - (29 / (h + 1)) * ((21 - g) / 11));
        let j = (y + y / 4 + i + 2 - c + c / 4) % 7;
        let l = i - j;
        let month = 3 + (l + 40) / 44;
        let day = l + 28 - 31 * (month / 4);
        d(y, month as u32, day as u32)
    }

    #[test]
    fn easter_dates() {
        let cases = [
            (2024, d(2024, 3, 31), "early: the last day of March"),
            (2025, d(2025, 4, 20), "Western and Orthodox Easter coincide"),
            (2026, d(2026, 4, 5), "the year most of the deadline cases below fall in"),
            (2027, d(2027, 3, 28), "late March"),
            (2008, d(2008, 3, 23), "Ascension 2008 fell on 1 May"),
            (1943, d(1943, 4, 25), "the latest possible date"),
            (2038, d(2038, 4, 25), "the latest possible date, next time"),
            (1818, d(1818, 3, 22), "the earliest possible date"),
            (2285, d(2285, 3, 22), "the earliest possible date, next time"),
            (1981, d(1981, 4, 19), "the 19 April exception of the computus (m = 1)"),
            (1954, d(1954, 4, 18), "the 18 April exception of the computus"),
            (2000, d(2000, 4, 23), "a century year that is a leap year"),
            (2100, d(2100, 3, 28), "a century year that is not a leap year"),
            (1970, d(1970, 3, 29), "29 March: Ascension Thu 7 May + Fri 8 May + weekend, a 4-day run"),
            (2043, d(2043, 3, 29), "29 March again: the next such 4-day run"),
        ];
        for (year, expected, why) in cases {
            assert_eq!(easter_sunday(year), Some(expected), "{year}: {why}");
        }
    }

    #[test]
    fn easter_agrees_with_an_independent_computus() {
        for year in 1583..=10_000 {
            assert_eq!(easter_sunday(year), Some(easter_oudin(year)), "{year}");
        }
    }

    #[test]
    fn easter_is_a_sunday_in_range_even_for_proleptic_and_far_years() {
        for year in (-5_000..=1_582).chain([100_000, 262_000]) {
            let easter = easter_sunday(year);
            assert!(easter.is_some(), "{year}");
            let easter = easter.unwrap_or(NaiveDate::MIN);
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!(easter >= d(year, 3, 22) && easter <= d(year, 4, 25), "{year}");
        }
        assert_eq!(easter_sunday(i32::MAX), None);
        assert_eq!(easter_sunday(i32::MIN), None);
    }

    #[test]
    fn holidays_of_2026() {
        let expected = vec![
            (d(2026, 1, 1), "Jour de l'an"),
            (d(2026, 4, 6), "Lundi de Pâques"),
            (d(2026, 5, 1), "Fête du Travail"),
            (d(2026, 5, 8), "Victoire 1945"),
            (d(2026, 5, 14), "Ascension"),
            (d(2026, 5, 25), "Lundi de Pentecôte"),
            (d(2026, 7, 14), "Fête nationale"),
            (d(2026, 8, 15), "Assomption"),
            (d(2026, 11, 1), "Toussaint"),
            (d(2026, 11, 11), "Armistice 1918"),
            (d(2026, 12, 25), "Noël"),
        ];
        assert_eq!(public_holidays(2026), expected);
        // is_public_holiday agrees with the list, day by day, for the whole year.
        let mut day = d(2026, 1, 1);
        while day.year() == 2026 {
            assert_eq!(is_public_holiday(day), expected.iter().any(|&(h, _)| h == day), "{day}");
            day = day.succ_opt().unwrap_or(NaiveDate::MAX);
        }
        // Not holidays in metropolitan France: Good Friday, 26 December, Easter Sunday itself.
        assert!(!is_public_holiday(d(2026, 4, 3)));
        assert!(!is_public_holiday(d(2026, 12, 26)));
        assert!(!is_public_holiday(d(2026, 4, 5)));
    }

    #[test]
    fn two_holidays_can_share_a_day() {
        // Easter 23 March 2008: Ascension on 1 May. Both are listed.
        let h = public_holidays(2008);
        assert_eq!(h.len(), 11);
        assert!(h.contains(&(d(2008, 5, 1), "Ascension")));
        assert!(h.contains(&(d(2008, 5, 1), "Fête du Travail")));
    }

    #[test]
    fn working_days() {
        assert!(is_working_day(d(2026, 4, 30))); // Thursday
        assert!(!is_working_day(d(2026, 2, 28))); // Saturday
        assert!(!is_working_day(d(2026, 3, 1))); // Sunday
        assert!(!is_working_day(d(2026, 5, 25))); // Whit Monday: a holiday (module docs)
        assert_eq!(next_working_day(d(2026, 4, 30)), d(2026, 4, 30)); // itself when working
        assert_eq!(next_working_day(d(2026, 5, 8)), d(2026, 5, 11)); // holiday Friday + weekend
        assert_eq!(next_working_day(d(2026, 12, 31)), d(2026, 12, 31)); // Thursday, not a holiday
        // At the end of chrono's calendar it saturates rather than panics.
        assert_eq!(next_working_day(NaiveDate::MAX), NaiveDate::MAX);
    }

    #[test]
    fn response_deadlines() {
        let cases = [
            (d(2026, 3, 31), d(2026, 4, 30), "30 April has no 31st: month end; a Thursday, working"),
            (d(2026, 1, 31), d(2026, 3, 2), "clamped to Saturday 28 February, moved to Monday 2 March"),
            (d(2024, 1, 31), d(2024, 2, 29), "leap year: clamped to Thursday 29 February"),
            (d(2024, 1, 30), d(2024, 2, 29), "30 January in a leap year: 29 February too"),
            (d(2026, 4, 14), d(2026, 5, 15), "Thursday 14 May 2026 is Ascension (Easter 5 April + 39)"),
            (d(2026, 4, 1), d(2026, 5, 4), "Friday 1 May, Labour Day, + weekend → Monday 4 May"),
            (d(2026, 4, 8), d(2026, 5, 11), "Friday 8 May, Victoire 1945, + weekend → Monday 11 May"),
            (d(2026, 6, 14), d(2026, 7, 15), "Tuesday 14 July, Fête nationale → Wednesday 15 July"),
            (d(2026, 11, 25), d(2026, 12, 28), "Friday 25 December + weekend → Monday 28 December"),
            (d(2026, 12, 1), d(2027, 1, 4), "across the year: Friday 1 January 2027 + weekend → Monday 4"),
            (d(2025, 5, 9), d(2025, 6, 10), "Monday 9 June 2025 is Whit Monday (Easter 20 April + 50)"),
            (d(2026, 3, 6), d(2026, 4, 7), "Monday 6 April 2026 is Easter Monday"),
            (d(2285, 3, 30), d(2285, 5, 4), "Easter 22 March 2285: Ascension Thu 30 April + Fri 1 May + weekend"),
            (d(2285, 4, 8), d(2285, 5, 12), "Fri 8 May 2285 + weekend + Whit Monday 11 May: 4 days"),
        ];
        for (received, expected, why) in cases {
            assert_eq!(response_deadline(received), Some(expected), "received {received}: {why}");
        }
        // The weekdays the cases above rely on.
        assert_eq!(d(2026, 4, 30).weekday(), Weekday::Thu);
        assert_eq!(d(2026, 2, 28).weekday(), Weekday::Sat);
        assert_eq!(d(2024, 2, 29).weekday(), Weekday::Thu);
        assert_eq!(d(2026, 5, 14).weekday(), Weekday::Thu);
        assert_eq!(d(2026, 5, 1).weekday(), Weekday::Fri);
        assert_eq!(d(2026, 5, 8).weekday(), Weekday::Fri);
        assert_eq!(d(2026, 7, 14).weekday(), Weekday::Tue);
        assert_eq!(d(2026, 12, 25).weekday(), Weekday::Fri);
        assert_eq!(d(2027, 1, 1).weekday(), Weekday::Fri);
        assert_eq!(d(2025, 6, 9).weekday(), Weekday::Mon);
        // No deadline past the end of the calendar.
        assert_eq!(response_deadline(NaiveDate::MAX), None);
    }

    #[test]
    fn extended_deadlines() {
        let cases = [
            (d(2026, 3, 31), 2, d(2026, 6, 30), "31 March + 3 months: clamped to Tuesday 30 June"),
            (d(2026, 3, 31), 1, d(2026, 6, 1), "31 March + 2 months: Sunday 31 May → Monday 1 June"),
            (d(2025, 11, 30), 2, d(2026, 3, 2), "30 November + 3 months: Saturday 28 February → Monday 2 March"),
            (d(2026, 1, 31), 2, d(2026, 4, 30), "counted from receipt, not from the moved first deadline (2 March)"),
            (d(2026, 1, 31), 1, d(2026, 3, 31), "31 January + 2 months: Tuesday 31 March"),
        ];
        for (received, months, expected, why) in cases {
            assert_eq!(extended_deadline(received, months), Some(expected), "received {received} + {months}: {why}");
        }
        assert_eq!(d(2026, 6, 30).weekday(), Weekday::Tue);
        assert_eq!(d(2026, 5, 31).weekday(), Weekday::Sun);
        assert_eq!(extended_deadline(d(2026, 3, 31), 0), None);
        assert_eq!(extended_deadline(d(2026, 3, 31), 3), None);
    }

    #[test]
    fn extension_rules() {
        let received = d(2026, 1, 31); // first deadline: Monday 2 March 2026
        let first = d(2026, 3, 2);
        assert_eq!(response_deadline(received), Some(first));
        // Allowed on the first deadline day itself, and any day before it.
        assert_eq!(can_extend(received, first, false, 2), Ok(d(2026, 4, 30)));
        assert_eq!(can_extend(received, d(2026, 2, 28), false, 1), Ok(d(2026, 3, 31)));
        assert_eq!(can_extend(received, received, false, 1), Ok(d(2026, 3, 31)));
        // Refused the day after.
        assert_eq!(
            can_extend(received, d(2026, 3, 3), false, 2),
            Err(ExtensionError::FirstDeadlinePassed { deadline: first })
        );
        // Refused once already extended, whatever else holds.
        assert_eq!(can_extend(received, first, true, 1), Err(ExtensionError::AlreadyExtended));
        // Refused for 0 or more than 2 months.
        assert_eq!(can_extend(received, first, false, 0), Err(ExtensionError::InvalidMonths(0)));
        assert_eq!(can_extend(received, first, false, 3), Err(ExtensionError::InvalidMonths(3)));
        // Out of range dates are an error, not a panic.
        assert_eq!(can_extend(NaiveDate::MAX, NaiveDate::MAX, false, 1), Err(ExtensionError::OutOfRange));
        // The messages say which rule failed.
        assert!(ExtensionError::AlreadyExtended.to_string().contains("single extension"));
        assert!(ExtensionError::InvalidMonths(3).to_string().contains("1 or 2"));
        assert!(
            ExtensionError::FirstDeadlinePassed { deadline: first }.to_string().contains("first deadline (2026-03-02)")
        );
    }

    #[test]
    fn suspended_deadlines() {
        // The days awaited are added to the period's last day, then moved to a working day.
        let cases = [
            (d(2026, 1, 31), 0, 0, d(2026, 3, 2), "no suspension: the first deadline"),
            (d(2026, 1, 31), 0, 3, d(2026, 3, 3), "Saturday 28 February + 3 days: Tuesday 3 March"),
            (d(2026, 1, 31), 0, 13, d(2026, 3, 13), "across the month end: 28 February + 13 days, a Friday"),
            (d(2024, 1, 31), 0, 1, d(2024, 3, 1), "leap year: Thursday 29 February + 1 day, Friday 1 March"),
            (d(2026, 3, 25), 0, 6, d(2026, 5, 4), "25 April + 6 days lands on Friday 1 May: Monday 4 May"),
            (d(2026, 4, 7), 0, 7, d(2026, 5, 15), "7 May + 7 days: Thursday 14 May is Ascension"),
            (d(2026, 11, 28), 0, 27, d(2027, 1, 25), "across the year: 28 December + 27 days"),
            (d(2026, 1, 31), 2, 3, d(2026, 5, 4), "extended 2 months: Thursday 30 April + 3 days → Monday 4 May"),
            (d(2026, 1, 31), 1, 0, d(2026, 3, 31), "extended, not suspended: extended_deadline's date"),
        ];
        for (received, months, days, expected, why) in cases {
            assert_eq!(
                deadline_in_force(received, months, days),
                Some(expected),
                "{received} +{months}m +{days}d: {why}"
            );
        }
        // A request suspended twice: the days add up (3 + 3 from the same received date).
        assert_eq!(deadline_in_force(d(2026, 3, 25), 0, 3 + 3), Some(d(2026, 5, 4)));
        assert_eq!(deadline_in_force(d(2026, 3, 25), 0, 3), Some(d(2026, 4, 28)));
        assert_eq!(d(2026, 4, 25).weekday(), Weekday::Sat);
        assert_eq!(d(2027, 1, 24).weekday(), Weekday::Sun);
        assert_eq!(deadline_in_force(d(2026, 1, 31), 3, 0), None);
        assert_eq!(deadline_in_force(NaiveDate::MAX, 0, 0), None);
        assert_eq!(deadline_in_force(d(2026, 1, 31), 0, u64::MAX), None);
        // Days suspended: calendar days, never negative.
        assert_eq!(days_suspended(d(2026, 2, 20), d(2026, 3, 5)), 13);
        assert_eq!(days_suspended(d(2026, 2, 20), d(2026, 2, 20)), 0);
        assert_eq!(days_suspended(d(2026, 2, 20), d(2026, 2, 19)), 0);
    }

    #[test]
    fn an_extension_counts_the_days_suspended() {
        let received = d(2026, 1, 31);
        // 10 days suspended: the first deadline is 28 February + 10 = Tuesday 10 March.
        assert_eq!(can_extend_suspended(received, d(2026, 3, 10), false, 2, 10), Ok(d(2026, 5, 11)));
        assert_eq!(
            can_extend_suspended(received, d(2026, 3, 11), false, 1, 10),
            Err(ExtensionError::FirstDeadlinePassed { deadline: d(2026, 3, 10) })
        );
        assert_eq!(can_extend_suspended(received, d(2026, 3, 2), true, 1, 10), Err(ExtensionError::AlreadyExtended));
        assert_eq!(d(2026, 5, 10).weekday(), Weekday::Sun);
    }

    #[test]
    fn days_left_counts_down_and_goes_negative() {
        let deadline = d(2026, 3, 2);
        assert_eq!(days_left(deadline, d(2026, 2, 28)), 2);
        assert_eq!(days_left(deadline, deadline), 0);
        assert_eq!(days_left(deadline, d(2026, 3, 3)), -1);
        assert_eq!(days_left(deadline, d(2026, 4, 1)), -30);
    }

    /// Every run of consecutive non-working days over 1900–2500, exhaustively:
    /// the longest is 4 days, and it occurs exactly in the years whose Easter
    /// falls on 22 or 29 March (module docs).
    #[test]
    fn longest_run_of_non_working_days_is_four() {
        let mut longest = 0;
        let mut run = 0;
        let mut runs_of_four = Vec::new();
        let mut day = d(1900, 1, 1);
        while day < d(2501, 1, 1) {
            if is_working_day(day) {
                if run == 4 {
                    runs_of_four.push(day);
                }
                longest = longest.max(run);
                run = 0;
            } else {
                run += 1;
            }
            day = day.succ_opt().unwrap_or(NaiveDate::MAX);
        }
        assert_eq!(longest, 4);
        let years: Vec<i32> = runs_of_four.iter().map(|day| day.year()).collect();
        let expected: Vec<i32> = (1900..=2500)
            .flat_map(|y| match easter_sunday(y).map(|e| (e.month(), e.day())) {
                Some((3, 22)) => vec![y, y],
                Some((3, 29)) => vec![y],
                _ => vec![],
            })
            .collect();
        assert_eq!(years, expected);
        assert!(years.contains(&2285));
        // The first working day after each 4-day run is a Monday or Tuesday in May.
        for day in runs_of_four {
            assert_eq!(day.month(), 5, "{day}");
            assert!(matches!(day.weekday(), Weekday::Mon | Weekday::Tue), "{day}");
        }
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..2500, 0u64..366).prop_map(|(y, doy)| d(y, 1, 1) + Days::new(doy))
    }

    proptest! {
        #[test]
        fn deadline_is_a_working_day_within_four_days_of_one_month(received in any_date()) {
            let one_month = add_months(received, 1);
            let deadline = response_deadline(received);
            prop_assert!(one_month.is_some() && deadline.is_some());
            let (one_month, deadline) = (one_month.unwrap_or(received), deadline.unwrap_or(received));
            prop_assert!(is_working_day(deadline));
            prop_assert!(deadline >= one_month);
            // The true bound: at most 4 consecutive non-working days (see the exhaustive test).
            prop_assert!(days_left(deadline, one_month) <= 4);
            // Every day skipped was a non-working day.
            let mut day = one_month;
            while day < deadline {
                prop_assert!(!is_working_day(day));
                day = day.succ_opt().unwrap_or(NaiveDate::MAX);
            }
        }

        #[test]
        fn easter_is_a_sunday_between_22_march_and_25_april(year in 1900i32..2500) {
            let easter = easter_sunday(year);
            prop_assert!(easter.is_some());
            let easter = easter.unwrap_or(NaiveDate::MIN);
            prop_assert_eq!(easter.weekday(), Weekday::Sun);
            prop_assert!(easter >= d(year, 3, 22) && easter <= d(year, 4, 25));
        }

        #[test]
        fn extended_deadlines_are_never_before_the_first(received in any_date(), months in 1u32..=2) {
            let first = response_deadline(received);
            let extended = extended_deadline(received, months);
            prop_assert!(first.is_some() && extended.is_some());
            prop_assert!(extended >= first);
            prop_assert!(extended_deadline(received, 2) >= extended_deadline(received, 1));
            let extended = extended.unwrap_or(received);
            prop_assert!(is_working_day(extended));
            // Allowed up to and including the first deadline day, refused after.
            let first = first.unwrap_or(received);
            prop_assert_eq!(can_extend(received, first, false, months), Ok(extended));
            let late = first.succ_opt().unwrap_or(first);
            prop_assert_eq!(
                can_extend(received, late, false, months),
                Err(ExtensionError::FirstDeadlinePassed { deadline: first })
            );
        }

        #[test]
        fn suspension_only_ever_moves_a_deadline_later(received in any_date(), months in 0u32..=2, days in 0u64..400, more in 0u64..400) {
            let base = deadline_in_force(received, months, 0);
            let with = deadline_in_force(received, months, days);
            let twice = deadline_in_force(received, months, days + more);
            prop_assert!(base.is_some() && with.is_some() && twice.is_some());
            prop_assert!(with >= base && twice >= with);
            let with = with.unwrap_or(received);
            prop_assert!(is_working_day(with));
            let last_day = add_months(received, 1 + months).unwrap_or(received) + Days::new(days);
            prop_assert!(with >= last_day && days_left(with, last_day) <= 4);
            prop_assert_eq!(deadline_in_force(received, 0, 0), response_deadline(received));
            if months > 0 {
                prop_assert_eq!(deadline_in_force(received, months, 0), extended_deadline(received, months));
            }
        }

        #[test]
        fn holiday_list_and_predicate_agree(year in 1900i32..2500) {
            let list = public_holidays(year);
            prop_assert_eq!(list.len(), 11);
            prop_assert!(list.windows(2).all(|w| w[0].0 <= w[1].0));
            for (day, _) in list {
                prop_assert!(is_public_holiday(day));
                prop_assert!(!is_working_day(day));
            }
        }
    }
}
