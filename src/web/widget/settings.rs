//! What the site owner configures about the widget: the pre-chat form,
//! greeting and away texts in English and Chinese, and business hours.
//! Parsed from the command line once (clap value parsers), sent to the
//! widget as JSON by `/widget/config`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Whether the pre-chat form asks for a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ask {
    /// Not asked.
    #[default]
    Off,
    /// Asked; the customer may leave it empty.
    Optional,
    /// Asked; the chat starts only once it is given.
    Required,
}

/// The pre-chat form: which fields it asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Prechat {
    pub name: Ask,
    pub email: Ask,
}

/// A text in each language of the pages; `None` means the built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Texts {
    pub en: Option<String>,
    pub zh: Option<String>,
}

/// Minutes since midnight, 0 to 1440.
type Minute = u16;

/// When the team answers: per weekday (Monday first) the opening ranges,
/// `[start, end)` in minutes of the day, in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeeklyHours {
    pub days: [Vec<(Minute, Minute)>; 7],
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl FromStr for WeeklyHours {
    type Err = String;

    /// `mon-fri 09:00-17:00, sat 10:00-12:00 13:00-16:00`: entries split by
    /// `,` or `;`, each a day or a range of days and one or more time ranges.
    fn from_str(raw: &str) -> Result<Self, String> {
        let mut days: [Vec<(Minute, Minute)>; 7] = Default::default();
        for entry in raw
            .split([',', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let mut words = entry.split_whitespace();
            let span = words.next().unwrap_or_default();
            let (first, last) = match span.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => (day(span)?, day(span)?),
            };
            if last < first {
                return Err(format!("{span}: a day range runs forward, like mon-fri"));
            }
            let ranges = words.map(time_range).collect::<Result<Vec<_>, _>>()?;
            if ranges.is_empty() {
                return Err(format!("{entry:?}: give opening times, like 09:00-17:00"));
            }
            for day in &mut days[first..=last] {
                day.extend(&ranges);
                day.sort_unstable();
            }
        }
        if days.iter().all(Vec::is_empty) {
            return Err("no opening times: use e.g. \"mon-fri 09:00-17:00\"".into());
        }
        Ok(WeeklyHours { days })
    }
}

fn day(raw: &str) -> Result<usize, String> {
    let lower = raw.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| lower.starts_with(d))
        .ok_or_else(|| format!("{raw:?} is not a weekday (mon, tue, wed, thu, fri, sat, sun)"))
}

fn time_range(raw: &str) -> Result<(Minute, Minute), String> {
    let (a, b) = raw
        .split_once('-')
        .ok_or_else(|| format!("{raw:?}: a time range looks like 09:00-17:00"))?;
    let (start, end) = (time(a)?, time(b)?);
    if start >= end {
        return Err(format!(
            "{raw:?}: the range must end after it starts (split a night shift at 24:00)"
        ));
    }
    Ok((start, end))
}

fn time(raw: &str) -> Result<Minute, String> {
    let bad = || format!("{raw:?} is not a time of day like 09:30 (00:00 to 24:00)");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    let (h, m): (Minute, Minute) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`). Only its shape is
/// checked here: the widget evaluates it with the browser's time zone
/// database and says so if the browser does not know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeZoneName(String);

impl FromStr for TimeZoneName {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.starts_with(|c: char| c.is_ascii_alphabetic())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if ok {
            Ok(TimeZoneName(raw.to_owned()))
        } else {
            Err(format!(
                "{raw:?} is not a time zone name like Europe/Berlin or UTC"
            ))
        }
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Business hours as the widget gets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessHours {
    pub time_zone: TimeZoneName,
    /// Per weekday, Monday first, `[start, end)` minutes of the day.
    pub days: [Vec<(Minute, Minute)>; 7],
}

/// Everything configured about the widget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WidgetSettings {
    pub prechat: Prechat,
    pub greeting: Texts,
    pub away: Texts,
    pub hours: Option<BusinessHours>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_hours_take_day_ranges_and_several_times() {
        let hours: WeeklyHours =
            "mon-fri 09:00-17:00; sat 10:00-12:00 13:00-16:30, Sun 00:00-24:00"
                .parse()
                .unwrap();
        assert_eq!(hours.days[0], vec![(540, 1020)]);
        assert_eq!(hours.days[4], vec![(540, 1020)]);
        assert_eq!(hours.days[5], vec![(600, 720), (780, 990)]);
        assert_eq!(hours.days[6], vec![(0, 1440)]);
    }

    #[test]
    fn weekly_hours_refuse_what_they_cannot_mean() {
        for bad in [
            "",
            "fri-mon 09:00-17:00",
            "mon",
            "mon 9-17",
            "mon 17:00-09:00",
            "mon 09:00-24:30",
            "funday 09:00-10:00",
            "mon 09:60-10:00",
        ] {
            assert!(bad.parse::<WeeklyHours>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zone_names_have_the_iana_shape() {
        for good in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+8",
        ] {
            assert!(good.parse::<TimeZoneName>().is_ok(), "{good}");
        }
        for bad in ["", "Europe Berlin", "../etc", "<script>"] {
            assert!(bad.parse::<TimeZoneName>().is_err(), "{bad}");
        }
    }
}
