//! A schedule rule's schedule, typed: what codegen validated, for a consumer computing fire times.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::diag::Span;
use crate::model::{self, RateUnit};
use crate::validate;

/// When a schedule rule fires. Its [`expression`](Schedule::expression) is the rule's
/// `schedule_expression`, the text EventBridge is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Schedule {
    /// `rate(N unit)`: every `value` units (`value` ≥ 1).
    Rate { value: u32, unit: RateUnit },
    /// `cron(...)`: at the minutes (UTC) the six fields match.
    Cron(Cron),
}

/// EventBridge's six cron fields, as written in the app file (validated: AWS's syntax and rules).
///
/// Day-of-week counts 1-7 = SUN-SAT; exactly one of `day_of_month` and `day_of_week` is `?`;
/// `L`, `LW` and `15W` may stand alone in day-of-month, `L`, `6L` and `2#3` in day-of-week; the
/// year is 1970-2199. Month and day names are in any case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cron {
    pub minutes: String,
    pub hours: String,
    pub day_of_month: String,
    pub month: String,
    pub day_of_week: String,
    pub year: String,
}

impl Cron {
    /// The fields in EventBridge's order: minutes hours day-of-month month day-of-week year.
    pub fn fields(&self) -> [&str; 6] {
        [
            &self.minutes,
            &self.hours,
            &self.day_of_month,
            &self.month,
            &self.day_of_week,
            &self.year,
        ]
    }
}

impl Schedule {
    /// The expression as EventBridge takes it: `rate(1 hour)`, `cron(0 2 * * ? *)`.
    pub fn expression(&self) -> String {
        self.to_model().expression()
    }

    fn to_model(&self) -> model::Schedule {
        match self {
            Schedule::Rate { value, unit } => model::Schedule::Rate {
                value: *value,
                unit: *unit,
            },
            Schedule::Cron(cron) => model::Schedule::Cron {
                fields: cron.fields().map(str::to_string),
            },
        }
    }
}

/// Why a text is not a schedule EventBridge accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a schedule EventBridge accepts: {}", reasons.join("; "))]
pub struct ScheduleError {
    pub expression: String,
    /// One line per problem, as the app file's diagnostics word them.
    pub reasons: Vec<String>,
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// `rate(N unit)` or `cron(...)`, checked as the app file's schedules are (so a plan edited
    /// by hand is held to the same rules).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reasons: Vec<String>| ScheduleError {
            expression: text.to_string(),
            reasons,
        };
        let body = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(|body| (body, Span::new(prefix.len(), prefix.len() + body.len())))
        };
        let model = if let Some((body, span)) = body("rate(") {
            validate::schedule::rate(body, span).map_err(|d| fail(vec![d.message]))?
        } else if let Some((body, span)) = body("cron(") {
            validate::schedule::cron(body, span)
                .map_err(|ds| fail(ds.into_iter().map(|d| d.message).collect()))?
        } else {
            return Err(fail(vec![
                "write `rate(N unit)` or `cron(...)`".to_string(),
            ]));
        };
        Ok(Schedule::from(&model))
    }
}

impl From<&model::Schedule> for Schedule {
    fn from(schedule: &model::Schedule) -> Self {
        match schedule {
            model::Schedule::Rate { value, unit } => Schedule::Rate {
                value: *value,
                unit: *unit,
            },
            model::Schedule::Cron { fields } => {
                let [minutes, hours, day_of_month, month, day_of_week, year] = fields.clone();
                Schedule::Cron(Cron {
                    minutes,
                    hours,
                    day_of_month,
                    month,
                    day_of_week,
                    year,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expression_is_the_models() {
        for expression in [
            model::Schedule::Rate {
                value: 1,
                unit: RateUnit::Hour,
            },
            model::Schedule::Rate {
                value: 5,
                unit: RateUnit::Minute,
            },
            model::Schedule::Cron {
                fields: ["0/15", "8-17", "?", "*", "MON-FRI", "*"].map(String::from),
            },
        ] {
            assert_eq!(
                Schedule::from(&expression).expression(),
                expression.expression()
            );
        }
    }

    #[test]
    fn serialises_tagged_with_named_fields() {
        let rate = Schedule::from(&model::Schedule::Rate {
            value: 7,
            unit: RateUnit::Day,
        });
        assert_eq!(
            serde_json::to_value(&rate).unwrap(),
            serde_json::json!({ "type": "rate", "value": 7, "unit": "day" })
        );
        let cron = Schedule::from(&model::Schedule::Cron {
            fields: ["0", "2", "*", "*", "?", "*"].map(String::from),
        });
        let json = serde_json::to_value(&cron).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "cron", "minutes": "0", "hours": "2", "day_of_month": "*",
                "month": "*", "day_of_week": "?", "year": "*"
            })
        );
        assert_eq!(serde_json::from_value::<Schedule>(json).unwrap(), cron);
    }

    #[test]
    fn parses_what_the_app_file_accepts_and_nothing_else() {
        let hourly: Schedule = "rate(1 hour)".parse().unwrap();
        assert_eq!(hourly.expression(), "rate(1 hour)");
        let nightly: Schedule = "cron(0 2 * * ? *)".parse().unwrap();
        assert_eq!(nightly.expression(), "cron(0 2 * * ? *)");

        let zero = "rate(0 minutes)".parse::<Schedule>().unwrap_err();
        assert_eq!(zero.expression, "rate(0 minutes)");
        assert!(zero.reasons[0].contains("positive whole number"), "{zero}");
        // Every bad field is a reason of its own.
        let both = "cron(61 25 * * ? *)".parse::<Schedule>().unwrap_err();
        assert_eq!(both.reasons.len(), 2, "{both}");
        let neither = "at(2024-01-01T00:00:00)".parse::<Schedule>().unwrap_err();
        assert!(
            neither
                .to_string()
                .contains("`rate(N unit)` or `cron(...)`"),
            "{neither}"
        );
    }
}
