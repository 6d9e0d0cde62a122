//! A binding's delivery options: retries, event or record age, bisection, parallelization, tumbling
//! window and the `on_failure` destination, each on the kinds AWS has it for, within AWS's bounds.
//! Filters and filter policies are [`super::filters`]' job.

use crate::ast::{Entry, Kind, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::{Delivery, Destination, DestinationKind, FilterPolicyScope, NameOrArn};

use super::filters;
use super::keys::{Entries, join_words};
use super::names;
use super::stages::Deferred;
use super::values::{self, Choice, wrong_type};
use super::vars::{self, Allow};

const STREAMS: &[Kind] = &[Kind::Stream, Kind::Table];
const ASYNCHRONOUS: &[Kind] = &[Kind::Schedule, Kind::Rule, Kind::Bucket, Kind::Topic];
const RETRIED: &[Kind] = &[
    Kind::Stream,
    Kind::Table,
    Kind::Schedule,
    Kind::Rule,
    Kind::Bucket,
    Kind::Topic,
];
const MAPPED: &[Kind] = &[Kind::Queue, Kind::Stream, Kind::Table];

/// Every delivery key and the kinds of binding that take it.
const KEYS: &[(&str, &[Kind])] = &[
    ("maximum_retry_attempts", RETRIED),
    ("maximum_record_age", STREAMS),
    ("maximum_event_age", ASYNCHRONOUS),
    ("bisect_on_error", STREAMS),
    ("parallelization_factor", STREAMS),
    ("tumbling_window", STREAMS),
    ("on_failure", RETRIED),
    ("filter", MAPPED),
    ("filter_policy", &[Kind::Topic]),
    ("filter_policy_scope", &[Kind::Topic]),
];

/// Lambda's bounds: stream retries -1 (forever) to 10000, asynchronous retries 0 to 2; record age
/// -1 or 60 s to 7 days; event age 60 s to 6 hours.
const STREAM_RETRIES: (i64, i64) = (-1, 10_000);
const ASYNC_RETRIES: (i64, i64) = (0, 2);
const RECORD_AGE_S: (u32, u32) = (60, 604_800);
const EVENT_AGE_S: (u32, u32) = (60, 21_600);
const PARALLELIZATION: (i64, i64) = (1, 10);
const TUMBLING_WINDOW_S: (u32, u32) = (0, 900);

const SCOPES: Choice<FilterPolicyScope> = Choice {
    key: "filter_policy_scope",
    what: "filter policy scope",
    words: &[
        ("message_attributes", FilterPolicyScope::MessageAttributes),
        ("message_body", FilterPolicyScope::MessageBody),
    ],
    aliases: &[
        ("attributes", "message_attributes"),
        ("messageattributes", "message_attributes"),
        ("body", "message_body"),
        ("messagebody", "message_body"),
    ],
    help: "SNS matches a filter policy against the `message_attributes` (the default) or the `message_body`",
};

/// The delivery keys a kind of binding takes.
pub(crate) fn keys_for(kind: Kind) -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(move |(_, kinds)| kinds.contains(&kind))
        .map(|(key, _)| *key)
}

/// The kinds that take `key`, when it is a delivery key.
fn owners(key: &str) -> Option<&'static [Kind]> {
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kinds)| *kinds)
}

fn owner_words(kinds: &[Kind]) -> String {
    let words: Vec<&str> = kinds.iter().map(|k| k.keyword()).collect();
    join_words(&words)
}

/// The help of a delivery key written where it does not go: in `defaults` or a stage (`kind` is
/// `None`), or on a binding of `kind`. `None` when `key` is no delivery key.
pub(crate) fn misplaced_help(key: &str, kind: Option<Kind>) -> Option<String> {
    let kinds = owners(key)?;
    let owners = owner_words(kinds);
    let Some(kind) = kind else {
        return Some(format!(
            "`{key}` is set on each binding, not in `defaults` or a stage: write it in the block of the {owners} bindings it applies to"
        ));
    };
    let asynchronous = ASYNCHRONOUS.contains(&kind);
    let help = match (key, kind) {
        ("on_failure" | "maximum_retry_attempts", Kind::Queue) => format!(
            "`{key}` is an option of {owners} bindings; SQS retries a failed message itself and moves it to the queue's dead-letter queue after `maxReceiveCount` receives: set a redrive policy on the queue"
        ),
        ("filter", Kind::Topic) => {
            "a topic binding filters with `filter_policy = { ... }`, an SNS subscription filter policy".to_string()
        }
        ("filter", Kind::Rule) => {
            "a rule's `pattern` is its filter: add the conditions to the pattern".to_string()
        }
        ("filter", Kind::Bucket) => format!(
            "`filter` is an option of {owners} bindings; a bucket binding filters object keys with `prefix` and `suffix`"
        ),
        ("maximum_record_age", _) if asynchronous => format!(
            "did you mean `maximum_event_age`? A {} binding's function is invoked asynchronously: its events have an event age (60s to 6h); records of stream and table bindings have a record age",
            kind.keyword()
        ),
        ("maximum_event_age", _) if STREAMS.contains(&kind) => format!(
            "did you mean `maximum_record_age`? A {} binding reads records (-1 or 60s to 7d); schedule, rule, bucket and topic bindings have an event age",
            kind.keyword()
        ),
        ("filter_policy" | "filter_policy_scope", _) if MAPPED.contains(&kind) => format!(
            "`{key}` is an option of topic bindings; a {} binding filters with `filter = {{ ... }}`",
            kind.keyword()
        ),
        _ => format!("`{key}` is an option of {owners} bindings"),
    };
    Some(help)
}

/// A binding's delivery options, and the destination names to check once the stages resolve them.
pub(crate) struct Read {
    pub delivery: Delivery,
    pub deferred: Vec<Deferred>,
}

/// Reads the delivery options among `entries` (keys were checked already: only those of `kind` are
/// left). Errors go to `diags`, warnings (filters that never match) to `warnings`.
pub(crate) fn read(
    kind: Kind,
    entries: &Entries<'_>,
    diags: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Read {
    let stream = STREAMS.contains(&kind);
    let mut d = Delivery::default();
    let mut deferred = Vec::new();
    if let Some(e) = entries.get("maximum_retry_attempts") {
        let (min, max) = if stream {
            STREAM_RETRIES
        } else {
            ASYNC_RETRIES
        };
        let before = diags.len();
        d.maximum_retry_attempts =
            values::int(&e.value, "maximum_retry_attempts", min, max, "", diags)
                .and_then(|n| i32::try_from(n).ok());
        let help = if stream {
            "use -1 (retry until the record expires, the default) or 0 to 10000".to_string()
        } else {
            format!(
                "Lambda retries an asynchronous invocation 0, 1 or 2 times (the default: 2) on a {} binding",
                kind.keyword()
            )
        };
        rehelp(&mut diags[before..], ErrorKind::OutOfRange, &help);
    }
    if let Some(e) = entries.get("maximum_record_age") {
        d.maximum_age_s = record_age(&e.value, diags);
    }
    if let Some(e) = entries.get("maximum_event_age") {
        let before = diags.len();
        d.maximum_age_s = values::seconds(
            &e.value,
            "maximum_event_age",
            EVENT_AGE_S.0,
            EVENT_AGE_S.1,
            diags,
        )
        .and_then(|n| i32::try_from(n).ok());
        rehelp(
            &mut diags[before..],
            ErrorKind::OutOfRange,
            "use a duration from 60s to 6h (21600s, the default)",
        );
    }
    if let Some(e) = entries.get("bisect_on_error") {
        d.bisect_on_error = values::boolean(&e.value, "bisect_on_error", diags);
    }
    if let Some(e) = entries.get("parallelization_factor") {
        d.parallelization_factor = values::int(
            &e.value,
            "parallelization_factor",
            PARALLELIZATION.0,
            PARALLELIZATION.1,
            "",
            diags,
        )
        .and_then(|n| u32::try_from(n).ok());
    }
    if let Some(e) = entries.get("tumbling_window") {
        d.tumbling_window_s = values::seconds(
            &e.value,
            "tumbling_window",
            TUMBLING_WINDOW_S.0,
            TUMBLING_WINDOW_S.1,
            diags,
        );
    }
    if let Some(e) = entries.get("on_failure") {
        d.on_failure = destination(e, stream, &mut deferred, diags);
    }
    if let Some(e) = entries.get("filter") {
        d.filters = filters::read_filters(kind, &e.value, diags, warnings).unwrap_or_default();
    }
    let scope = entries.get("filter_policy_scope");
    match (entries.get("filter_policy"), scope) {
        (Some(policy), scope) => {
            let scope = match scope {
                Some(e) => values::choice(&e.value, &SCOPES, diags),
                None => Some(FilterPolicyScope::MessageAttributes),
            };
            if let Some(scope) = scope {
                d.filter_policy = filters::read_policy(&policy.value, scope, diags)
                    .map(|policy| crate::model::FilterPolicy { policy, scope });
            }
        }
        (None, Some(e)) => diags.push(
            Diagnostic::new(
                ErrorKind::MissingKey,
                e.key.span,
                "`filter_policy_scope` without a `filter_policy`",
            )
            .label("nothing to scope")
            .help("the scope says what a `filter_policy` is matched against: add `filter_policy = { ... }`, or remove this line"),
        ),
        (None, None) => {}
    }
    Read {
        delivery: d,
        deferred,
    }
}

/// Replaces the help of the diagnostics of `kind` among `diags`.
fn rehelp(diags: &mut [Diagnostic], kind: ErrorKind, help: &str) {
    for d in diags.iter_mut().filter(|d| d.kind == kind) {
        d.help = Some(help.to_string());
    }
}

/// `maximum_record_age`: -1 (records are retried until they expire) or a duration of 60 s to 7 days.
fn record_age(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<i32> {
    if v.node == Value::Int(-1) {
        return Some(-1);
    }
    let help =
        "use a duration from 60s to 7d (604800s), or -1: until the record expires (the default)";
    let before = diags.len();
    let age = values::seconds(
        v,
        "maximum_record_age",
        RECORD_AGE_S.0,
        RECORD_AGE_S.1,
        diags,
    );
    rehelp(&mut diags[before..], ErrorKind::OutOfRange, help);
    if let Value::Int(n) = v.node {
        rehelp(
            &mut diags[before..],
            ErrorKind::InvalidDuration,
            &format!("add a unit (`{n}s`), or write -1: until the record expires"),
        );
    }
    age.and_then(|n| i32::try_from(n).ok())
}

/// The services a stream or table mapping sends failed batches to.
const STREAM_DESTINATIONS: [DestinationKind; 3] = [
    DestinationKind::Queue,
    DestinationKind::Topic,
    DestinationKind::Bucket,
];

const ON_FAILURE_EXAMPLE: &str = "write `on_failure { queue = \"failed-records\" }`";

/// `on_failure { KIND = "name or ARN" }`: exactly one destination of a service the binding can send to.
fn destination(
    e: &Entry,
    stream: bool,
    deferred: &mut Vec<Deferred>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Destination> {
    let Value::Block(block) = &e.value.node else {
        diags.push(wrong_type(&e.value, "a block").help(ON_FAILURE_EXAMPLE));
        return None;
    };
    let allowed: &[DestinationKind] = if stream {
        &STREAM_DESTINATIONS
    } else {
        &DestinationKind::ALL
    };
    let words: Vec<&str> = allowed.iter().map(|k| k.keyword()).collect();
    let mut found: Option<(Span, DestinationKind, &Spanned<Value>)> = None;
    let mut ok = true;
    for entry in &block.entries {
        let key = entry.key.node.as_str();
        let Some(kind) = DestinationKind::ALL
            .into_iter()
            .find(|k| k.keyword() == key)
        else {
            let d = Diagnostic::new(
                ErrorKind::UnknownKey,
                entry.key.span,
                format!("unknown key `{key}` in `on_failure`"),
            )
            .label("unknown destination");
            diags.push(match did_you_mean(key, words.iter().copied()) {
                Some(best) => d.help(format!("did you mean `{best}`?")),
                None => d.help(format!("`on_failure` takes one of {}", join_words(&words))),
            });
            ok = false;
            continue;
        };
        if !allowed.contains(&kind) {
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidDestination,
                    entry.key.span,
                    format!(
                        "a stream or table mapping cannot send failed batches to {}",
                        match kind {
                            DestinationKind::Bus => "an event bus",
                            _ => "a function",
                        }
                    ),
                )
                .label("not a destination of a mapping")
                .help("Lambda sends a stream's or table's failed batches to a `queue`, a `topic` or a `bucket`"),
            );
            ok = false;
            continue;
        }
        if let Some((first, _, _)) = found {
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidDestination,
                    entry.key.span,
                    "`on_failure` names more than one destination",
                )
                .label("second destination")
                .related(first, "first destination")
                .help("Lambda sends failure records to one destination: keep one of the two"),
            );
            ok = false;
            continue;
        }
        found = Some((entry.key.span, kind, &entry.value));
    }
    let Some((_, kind, value)) = found else {
        if ok {
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidDestination,
                    block.span,
                    "`on_failure` names no destination",
                )
                .label("empty block")
                .help(format!(
                    "{ON_FAILURE_EXAMPLE}; the destination is one of {}",
                    join_words(&words)
                )),
            );
        }
        return None;
    };
    let Value::Str(text) = &value.node else {
        diags.push(wrong_type(value, "a string").help(format!(
            "write the {}'s name or ARN in quotes: `{} = \"...\"`",
            kind.noun(),
            kind.keyword()
        )));
        return None;
    };
    if !ok {
        return None;
    }
    let arn = text.starts_with("arn:");
    let (allow, what) = if arn {
        (Allow::Arn, format!("a {} ARN", kind.noun()))
    } else {
        (Allow::Stage, format!("a {} name", kind.noun()))
    };
    if !vars::check(text, value.span, allow, &what, diags) {
        return None;
    }
    deferred.push(Deferred {
        text: text.clone(),
        span: value.span,
        check: match kind {
            DestinationKind::Queue => check_queue,
            DestinationKind::Topic => check_topic,
            DestinationKind::Bucket => check_bucket,
            DestinationKind::Bus => check_bus,
            DestinationKind::Function => check_function,
        },
    });
    Some(Destination {
        kind,
        target: if arn {
            NameOrArn::Arn(text.clone())
        } else {
            NameOrArn::Name(text.clone())
        },
    })
}

fn check_queue(s: &str, span: Span) -> Result<(), Diagnostic> {
    check_destination(DestinationKind::Queue, s, span)
}

fn check_topic(s: &str, span: Span) -> Result<(), Diagnostic> {
    check_destination(DestinationKind::Topic, s, span)
}

fn check_bucket(s: &str, span: Span) -> Result<(), Diagnostic> {
    check_destination(DestinationKind::Bucket, s, span)
}

fn check_bus(s: &str, span: Span) -> Result<(), Diagnostic> {
    check_destination(DestinationKind::Bus, s, span)
}

fn check_function(s: &str, span: Span) -> Result<(), Diagnostic> {
    check_destination(DestinationKind::Function, s, span)
}

fn invalid(span: Span, message: String, label: &str, help: String) -> Diagnostic {
    Diagnostic::new(ErrorKind::InvalidDestination, span, message)
        .label(label)
        .help(help)
}

/// A destination's name or ARN as one stage resolves it: of the right service, valid by that service's
/// naming rules, and not FIFO (Lambda sends failure records to standard queues and topics only).
pub(crate) fn check_destination(
    kind: DestinationKind,
    s: &str,
    span: Span,
) -> Result<(), Diagnostic> {
    let key = kind.keyword();
    let (svc, svc_name) = (kind.service(), kind.service_name());
    if let Some(rest) = s.strip_prefix("arn:") {
        let written = rest.split(':').nth(1).unwrap_or_default();
        if written != svc {
            let other = DestinationKind::ALL
                .into_iter()
                .find(|k| k.service() == written);
            let help = match other {
                Some(other) => format!(
                    "this is {} {} ARN: write `{} = \"{s}\"`, or give {} {svc_name} {}'s name or ARN",
                    article(other.service_name()),
                    other.service_name(),
                    other.keyword(),
                    article(svc_name),
                    kind.noun()
                ),
                None => format!(
                    "`{key}` takes {} {svc_name} {}'s name or its ARN `arn:aws:{svc}:...`",
                    article(svc_name),
                    kind.noun()
                ),
            };
            return Err(invalid(
                span,
                format!(
                    "`{key}` names {} {svc_name} {}, but `{s}` is not {} {svc_name} ARN",
                    article(svc_name),
                    kind.noun(),
                    article(svc_name)
                ),
                &format!("not {} {svc_name} ARN", article(svc_name)),
                help,
            ));
        }
    } else if s.starts_with("https://") || s.starts_with("http://") {
        return Err(invalid(
            span,
            format!("`{key}` takes a name or an ARN, not a URL"),
            "a URL",
            format!(
                "give the {}'s name (for a queue, the URL's last part) or its ARN",
                kind.noun()
            ),
        ));
    }
    let fifo = |name: &str| {
        Err(Diagnostic::new(
            ErrorKind::FifoConstraint,
            span,
            format!(
                "`{name}` is a FIFO {}; Lambda cannot send failure records to a FIFO {}",
                kind.noun(),
                kind.noun()
            ),
        )
        .label(format!("FIFO {}", kind.noun()))
        .help(format!(
            "give a standard {} (its name does not end in `.fifo`)",
            kind.noun()
        )))
    };
    match kind {
        DestinationKind::Queue => {
            let queue = names::queue(s, span)?;
            if queue.name().ends_with(".fifo") {
                return fifo(queue.name());
            }
            Ok(())
        }
        DestinationKind::Topic => {
            let name = s.rsplit(':').next().unwrap_or(s);
            if name.ends_with(".fifo") {
                return fifo(name);
            }
            names::topic(s, span).map(|_| ())
        }
        DestinationKind::Bucket => {
            let name = match s.strip_prefix("arn:") {
                Some(rest) => {
                    let parts: Vec<&str> = rest.splitn(5, ':').collect();
                    match parts[..] {
                        [partition, "s3", "", "", name]
                            if names::partition_ok(partition) && !name.contains('/') =>
                        {
                            name
                        }
                        _ => {
                            return Err(invalid(
                                span,
                                format!("invalid bucket ARN `{s}`"),
                                "invalid bucket ARN",
                                "a bucket's ARN is `arn:aws:s3:::NAME` (no region, no account, no key)".to_string(),
                            ));
                        }
                    }
                }
                None => s,
            };
            names::bucket(name, span)
        }
        DestinationKind::Bus => names::event_bus(s, span),
        DestinationKind::Function => names::function(s, span),
    }
}

/// `a` or `an` before a service name.
fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U', 'S']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span = Span { start: 0, end: 5 };

    fn kind_of(kind: DestinationKind, s: &str) -> Option<ErrorKind> {
        check_destination(kind, s, SPAN).err().map(|d| d.kind)
    }

    #[test]
    fn destinations_of_each_service() {
        use DestinationKind::*;
        for (kind, ok) in [
            (Queue, "dead"),
            (Queue, "arn:aws:sqs:us-east-1:123456789012:dead"),
            (Queue, "arn:{partition}:sqs:{region}:{account}:dead"),
            (Topic, "alerts"),
            (Topic, "arn:aws:sns:us-east-1:123456789012:alerts"),
            (Bucket, "failed-records"),
            (Bucket, "arn:aws:s3:::failed-records"),
            (Bus, "default"),
            (Bus, "arn:aws:events:us-east-1:123456789012:event-bus/ops"),
            (Function, "on-failure"),
            (
                Function,
                "arn:aws:lambda:us-east-1:123456789012:function:f:live",
            ),
        ] {
            assert_eq!(kind_of(kind, ok), None, "{kind:?} {ok}");
        }
        for (kind, bad, expected) in [
            (
                Queue,
                "arn:aws:sns:us-east-1:123456789012:alerts",
                ErrorKind::InvalidDestination,
            ),
            (Queue, "dead.fifo", ErrorKind::FifoConstraint),
            (
                Queue,
                "arn:aws:sqs:us-east-1:123456789012:dead.fifo",
                ErrorKind::FifoConstraint,
            ),
            (Topic, "alerts.fifo", ErrorKind::FifoConstraint),
            (Topic, "bad topic", ErrorKind::InvalidTopic),
            (
                Queue,
                "https://sqs.us-east-1.amazonaws.com/123456789012/dead",
                ErrorKind::InvalidDestination,
            ),
            (Bucket, "Bad_Bucket", ErrorKind::InvalidBucket),
            (
                Bucket,
                "arn:aws:s3:us-east-1:123456789012:b",
                ErrorKind::InvalidDestination,
            ),
            (Function, "bad name", ErrorKind::InvalidDestination),
            (
                Bus,
                "arn:aws:events:us-east-1:123456789012:rule/x",
                ErrorKind::InvalidEventBus,
            ),
        ] {
            assert_eq!(kind_of(kind, bad), Some(expected), "{kind:?} {bad}");
        }
        let d = check_destination(Queue, "arn:aws:sns:us-east-1:123456789012:alerts", SPAN)
            .unwrap_err();
        assert!(
            d.help.as_deref().unwrap().contains("write `topic = "),
            "{d:?}"
        );
    }

    #[test]
    fn misplaced_keys_get_a_hint() {
        let help = |key: &str, kind| misplaced_help(key, kind).unwrap();
        assert!(help("on_failure", Some(Kind::Queue)).contains("redrive policy"));
        assert!(help("filter", Some(Kind::Topic)).contains("filter_policy"));
        assert!(help("filter", Some(Kind::Rule)).contains("`pattern`"));
        assert!(
            help("maximum_record_age", Some(Kind::Bucket))
                .starts_with("did you mean `maximum_event_age`?")
        );
        assert!(
            help("maximum_event_age", Some(Kind::Stream))
                .starts_with("did you mean `maximum_record_age`?")
        );
        assert!(help("bisect_on_error", None).contains("not in `defaults` or a stage"));
        assert_eq!(
            help("bisect_on_error", Some(Kind::Queue)),
            "`bisect_on_error` is an option of stream and table bindings"
        );
        assert_eq!(misplaced_help("memory", None), None);
        assert_eq!(
            keys_for(Kind::Queue).collect::<Vec<_>>(),
            ["filter"],
            "a queue takes filters only"
        );
    }
}
