//! A schedule rule's schedule, typed: what codegen validated, for a consumer computing fire times.

use serde::{Deserialize, Serialize};

use crate::model::{self, RateUnit};

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
}
