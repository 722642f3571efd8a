//! The views of `/console/retention` (filled by `web/src/console/retention.rs`): the plan at a
//! date (what is due, held subjects apart), the 12-month forecast as a bar chart drawn here in
//! SVG (with the same figures in a table), legal holds with their history, and the erasure
//! with its confirmation.

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// A subject due for erasure at the plan's date.
#[derive(Clone, Debug)]
pub struct DueLine {
    pub id: String,
    /// Tokens: `client`, `prospect`; `last_contract_end`, `last_inbound_contact`.
    pub kind: &'static str,
    pub rule: String,
    pub basis: Option<NaiveDate>,
    pub expires_on: NaiveDate,
}

/// A subject whose clock ran out but whom a hold keeps.
#[derive(Clone, Debug)]
pub struct HeldLine {
    pub id: String,
    pub kind: &'static str,
    pub expires_on: NaiveDate,
    /// `legal_hold`, `rights_request`, `breach` or `restriction`.
    pub held_by: String,
    /// The legal hold's reason (the DPO's words); None for an automatic hold.
    pub reason: Option<String>,
    pub held_at: Option<DateTime<Utc>>,
    pub request_id: Option<String>,
    pub breach_id: Option<String>,
}

/// One bar of the forecast.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The month in words (`janvier 2027`) and short (`01/27`, under the bar).
    pub month: String,
    pub short: String,
    pub count: i64,
    pub x: i64,
    pub y: i64,
    pub height: i64,
    /// Where the count is written, above the bar.
    pub label_y: i64,
}

/// The 12-month forecast, drawn: bars scaled to the largest month.
#[derive(Clone, Debug)]
pub struct Forecast {
    pub bars: Vec<Bar>,
    pub total: i64,
    pub max: i64,
}

impl Forecast {
    pub const WIDTH: i64 = 720;
    pub const HEIGHT: i64 = 220;
    /// The drawing's bottom line (room for the month labels below).
    pub const BASE: i64 = 190;
    /// The tallest bar's height (room for its count above).
    pub const TOP: i64 = 160;
    pub const BAR: i64 = 44;
    pub const STEP: i64 = 60;

    /// From (`YYYY-MM`, count) pairs, in order.
    pub fn new(t: &Tr, months: &[(String, i64)]) -> Forecast {
        let max = months.iter().map(|m| m.1).max().unwrap_or(0).max(0);
        let bars = months
            .iter()
            .enumerate()
            .map(|(i, (ym, count))| {
                let (year, month) = ym.split_once('-').unwrap_or(("", ""));
                let m: u32 = month.parse().unwrap_or(1);
                let height = if max == 0 { 0 } else { (count.max(&0) * Self::TOP + max - 1) / max };
                let y = Self::BASE - height;
                Bar {
                    month: format!("{} {year}", t.t(&format!("month.{m}"))),
                    short: format!("{month}/{}", year.get(2..).unwrap_or(year)),
                    count: *count,
                    x: 12 + i as i64 * Self::STEP,
                    y,
                    height,
                    label_y: y - 6,
                }
            })
            .collect();
        Forecast { bars, total: months.iter().map(|m| m.1).sum(), max }
    }

    pub fn width(&self) -> i64 {
        Self::WIDTH
    }
    pub fn height(&self) -> i64 {
        Self::HEIGHT
    }
    pub fn base(&self) -> i64 {
        Self::BASE
    }
    pub fn bar_width(&self) -> i64 {
        Self::BAR
    }
    /// The x of a bar's middle.
    pub fn mid(&self, b: &Bar) -> i64 {
        b.x + Self::BAR / 2
    }
    /// The y of the month labels.
    pub fn label_y(&self) -> i64 {
        Self::BASE + 18
    }
}

/// How many subjects the plan counts, by reason.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub due: usize,
    pub legal_hold: usize,
    pub rights_request: usize,
    pub breach: usize,
    pub restriction: usize,
    pub to_review: usize,
}

/// What an erasure did, shown after it.
#[derive(Clone, Debug)]
pub struct Applied {
    pub at: NaiveDate,
    pub erased: u64,
    pub held: u64,
}

/// A legal hold in place (its reason and history on the subject's hold page).
#[derive(Clone, Debug)]
pub struct HoldLine {
    pub id: String,
    pub since: Option<DateTime<Utc>>,
}

/// `GET /console/retention`: the plan at a date, the forecast, the holds, the erasure form.
#[derive(Template)]
#[template(path = "console/retention/plan.html")]
pub struct RetentionPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub at: NaiveDate,
    pub today: NaiveDate,
    pub counts: Counts,
    pub due: Vec<DueLine>,
    /// The list of due subjects is cut at this many.
    pub limit: usize,
    pub held: Vec<HeldLine>,
    /// Every legal hold in place, due or not.
    pub holds: Vec<HoldLine>,
    pub forecast: Forecast,
    pub applied: Option<Applied>,
    pub error: Option<String>,
}

/// The words of a token: `w("console_retention.rule", "last_contract_end")`.
fn words(t: &Tr, table: &str, token: &str) -> &'static str {
    t.t(&format!("{table}.{token}"))
}

impl RetentionPage {
    pub fn w(&self, table: &str, token: &str) -> &'static str {
        words(&self.t, table, token)
    }
    /// The date as the date field wants it.
    pub fn iso(&self, d: &NaiveDate) -> String {
        d.format("%Y-%m-%d").to_string()
    }
}

/// The first `POST /console/retention/apply`: what will be erased, to confirm.
#[derive(Template)]
#[template(path = "console/retention/confirm.html")]
pub struct ConfirmPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub at: NaiveDate,
    pub due_count: usize,
    pub due: Vec<DueLine>,
    pub limit: usize,
    pub held: usize,
    /// The count changed between the confirmation and the erasure: said, and asked again.
    pub changed: bool,
}

impl ConfirmPage {
    pub fn w(&self, table: &str, token: &str) -> &'static str {
        words(&self.t, table, token)
    }
    pub fn iso(&self, d: &NaiveDate) -> String {
        d.format("%Y-%m-%d").to_string()
    }
}

/// One event of a legal hold's history.
#[derive(Clone, Debug)]
pub struct HoldEventLine {
    /// `set` or `lift`.
    pub action: &'static str,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// `GET /console/retention/holds/{id}`: a subject's legal hold, its history, and the forms.
#[derive(Template)]
#[template(path = "console/retention/hold.html")]
pub struct HoldPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub subject: String,
    pub held: bool,
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub history: Vec<HoldEventLine>,
    pub error: Option<String>,
}

impl HoldPage {
    pub fn w(&self, table: &str, token: &str) -> &'static str {
        words(&self.t, table, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    #[test]
    fn the_forecast_scales_its_bars_to_the_largest_month() {
        let months: Vec<(String, i64)> =
            (1..=12).map(|m| (format!("2027-{m:02}"), if m == 3 { 40 } else { i64::from(m % 2) * 10 })).collect();
        let f = Forecast::new(&Tr(Lang::Fr), &months);
        assert_eq!(f.bars.len(), 12);
        assert_eq!(f.max, 40);
        assert_eq!(f.total, 40 + 5 * 10);
        assert_eq!(f.bars[2].height, Forecast::TOP, "the largest month fills the height");
        assert_eq!(f.bars[0].height, Forecast::TOP / 4);
        assert_eq!(f.bars[1].height, 0);
        assert_eq!(f.bars[2].y + f.bars[2].height, Forecast::BASE);
        assert_eq!(f.bars[0].month, "janvier 2027");
        assert_eq!(f.bars[0].short, "01/27");
        assert!(f.bars.iter().all(|b| b.x + Forecast::BAR <= Forecast::WIDTH));
        let empty = Forecast::new(&Tr(Lang::En), &months.iter().map(|(m, _)| (m.clone(), 0)).collect::<Vec<_>>());
        assert!(empty.bars.iter().all(|b| b.height == 0));
        assert_eq!(empty.bars[11].month, "December 2027");
    }
}
