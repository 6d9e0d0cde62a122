//! S3 notifications: event names, and overlapping notifications on one bucket (which S3 refuses).

use crate::ast::{Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};

use super::values::wrong_type;

/// Every event type a bucket notification can name.
pub(crate) const EVENTS: &[&str] = &[
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

/// The events a binding gets when it names none.
pub(crate) const DEFAULT_EVENT: &str = "s3:ObjectCreated:*";

/// Checks `events = [...]`: a non-empty list of real event types.
pub(crate) fn events(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let items = match &v.node {
        Value::List(items) => items,
        Value::Str(s) => {
            diags.push(
                wrong_type(v, "a list").help(format!("put it in brackets: `events = [\"{s}\"]`")),
            );
            return None;
        }
        _ => {
            diags.push(
                wrong_type(v, "a list").help(format!("e.g. `events = [\"{DEFAULT_EVENT}\"]`")),
            );
            return None;
        }
    };
    if items.is_empty() {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue, v.span, "`events` is empty")
                .label("no event")
                .help(format!(
                    "name at least one event, or leave `events` out for `[\"{DEFAULT_EVENT}\"]`"
                )),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Value::Str(name) = &item.node else {
            diags.push(wrong_type(item, "a string"));
            ok = false;
            continue;
        };
        if let Err(d) = event(name, item.span) {
            diags.push(d);
            ok = false;
        } else if !out.contains(name) {
            out.push(name.clone());
        }
    }
    ok.then_some(out)
}

/// One event type.
pub(crate) fn event(name: &str, span: Span) -> Result<(), Diagnostic> {
    if EVENTS.contains(&name) {
        return Ok(());
    }
    let d = Diagnostic::new(
        ErrorKind::UnknownS3Event,
        span,
        format!("unknown S3 event `{name}`"),
    )
    .label("not an S3 event type");
    if name == "s3:TestEvent" {
        return Err(d.help("S3 sends `s3:TestEvent` by itself when a notification is set up; it cannot be subscribed to"));
    }
    let prefixed = if name.starts_with("s3:") {
        name.to_string()
    } else {
        format!("s3:{name}")
    };
    let suggestion = EVENTS
        .iter()
        .copied()
        .find(|e| e.eq_ignore_ascii_case(&prefixed))
        .or_else(|| did_you_mean(&prefixed, EVENTS.iter().copied()));
    Err(match suggestion {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None => d.help("see the S3 event types: s3:ObjectCreated:*, s3:ObjectRemoved:*, s3:ObjectRestore:*, s3:ObjectTagging:*, ..."),
    })
}

/// One binding's notification, as far as overlap is concerned.
#[derive(Debug, Clone)]
pub(crate) struct Notification<'a> {
    pub handler: &'a str,
    pub bucket: &'a str,
    pub events: &'a [String],
    pub prefix: Option<&'a str>,
    pub suffix: Option<&'a str>,
    /// Where to point: the bucket name of the binding.
    pub span: Span,
    /// The stage whose resolution of the bucket name this is, when the name depends on the stage.
    pub stage: Option<&'a str>,
}

fn events_overlap(a: &str, b: &str) -> bool {
    let covers = |wild: &str, other: &str| {
        wild.strip_suffix('*')
            .is_some_and(|stem| other.starts_with(stem))
    };
    a == b || covers(a, b) || covers(b, a)
}

fn filters_overlap(a: Option<&str>, b: Option<&str>, nested: impl Fn(&str, &str) -> bool) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => nested(a, b) || nested(b, a),
        _ => true,
    }
}

/// "every key", "keys starting `a/`", "keys starting `a/` and ending `.png`".
fn keys(n: &Notification<'_>) -> String {
    match (n.prefix, n.suffix) {
        (None, None) => "every key".to_string(),
        (Some(p), None) => format!("keys starting `{p}`"),
        (None, Some(s)) => format!("keys ending `{s}`"),
        (Some(p), Some(s)) => format!("keys starting `{p}` and ending `{s}`"),
    }
}

/// Reports each pair of notifications on one bucket that S3 would refuse as overlapping (the bucket
/// names as one stage resolves them; the message names the stage when a name depends on it).
pub(crate) fn check_overlaps(all: &[Notification<'_>], diags: &mut Vec<Diagnostic>) {
    for (i, later) in all.iter().enumerate() {
        for earlier in &all[..i] {
            if earlier.bucket != later.bucket {
                continue;
            }
            let shared = later.events.iter().find_map(|a| {
                earlier
                    .events
                    .iter()
                    .find(|b| events_overlap(a, b))
                    .map(|b| (a, b))
            });
            let Some((a, b)) = shared else { continue };
            if !filters_overlap(earlier.prefix, later.prefix, |x, y| x.starts_with(y))
                || !filters_overlap(earlier.suffix, later.suffix, |x, y| x.ends_with(y))
            {
                continue;
            }
            let stage = later
                .stage
                .or(earlier.stage)
                .map(|s| format!("in stage `{s}`: "))
                .unwrap_or_default();
            diags.push(
                Diagnostic::new(
                    ErrorKind::OverlappingNotification,
                    later.span,
                    format!(
                        "{stage}`{}` and `{}` overlap on bucket `{}`: S3 refuses overlapping notifications",
                        earlier.handler, later.handler, later.bucket
                    ),
                )
                .label(format!("`{}` gets `{a}` for {}", later.handler, keys(later)))
                .related(earlier.span, format!("`{}` gets `{b}` for {}", earlier.handler, keys(earlier)))
                .help("give them prefixes or suffixes where neither contains the other, or distinct event types"),
            );
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names() {
        for e in EVENTS {
            assert!(event(e, Span::default()).is_ok());
        }
        let help = |n: &str| event(n, Span::default()).unwrap_err().help.unwrap();
        assert_eq!(
            help("s3:ObjectCreated:Putt"),
            "did you mean `s3:ObjectCreated:Put`?"
        );
        assert_eq!(
            help("s3:objectcreated:*"),
            "did you mean `s3:ObjectCreated:*`?"
        );
        assert_eq!(
            help("ObjectRemoved:*"),
            "did you mean `s3:ObjectRemoved:*`?"
        );
        assert!(help("s3:TestEvent").contains("cannot be subscribed"));
        assert_eq!(
            event("s3:Nope", Span::default()).unwrap_err().kind,
            ErrorKind::UnknownS3Event
        );
    }

    #[test]
    fn event_lists() {
        let sp = |v| Spanned::new(v, Span::new(0, 1));
        let mut d = Vec::new();
        let list = Value::List(vec![
            sp(Value::Str("s3:ObjectCreated:Put".into())),
            sp(Value::Str("s3:Bad".into())),
            sp(Value::Int(1)),
        ]);
        assert!(events(&sp(list), &mut d).is_none());
        let kinds: Vec<_> = d.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [ErrorKind::UnknownS3Event, ErrorKind::WrongType]);
        let mut d = Vec::new();
        assert!(events(&sp(Value::List(vec![])), &mut d).is_none());
        assert!(events(&sp(Value::Str("s3:ObjectCreated:*".into())), &mut d).is_none());
        assert_eq!(d[0].kind, ErrorKind::InvalidValue);
        assert_eq!(d[1].kind, ErrorKind::WrongType);
    }

    fn n<'a>(
        handler: &'a str,
        events: &'a [String],
        prefix: Option<&'a str>,
        suffix: Option<&'a str>,
    ) -> Notification<'a> {
        Notification {
            handler,
            bucket: "b",
            events,
            prefix,
            suffix,
            span: Span::new(handler.len(), handler.len() + 1),
            stage: None,
        }
    }

    #[test]
    fn overlaps() {
        let created = vec!["s3:ObjectCreated:*".to_string()];
        let put = vec!["s3:ObjectCreated:Put".to_string()];
        let removed = vec!["s3:ObjectRemoved:*".to_string()];
        let count = |a: Notification, b: Notification| {
            let mut d = Vec::new();
            check_overlaps(&[a, b], &mut d);
            d.len()
        };
        assert_eq!(
            count(n("a", &created, None, None), n("bb", &put, None, None)),
            1
        );
        assert_eq!(
            count(n("a", &created, None, None), n("bb", &removed, None, None)),
            0
        );
        assert_eq!(
            count(
                n("a", &put, Some("images/"), None),
                n("bb", &put, Some("images/thumbs/"), None)
            ),
            1
        );
        assert_eq!(
            count(
                n("a", &put, Some("images/"), None),
                n("bb", &put, Some("docs/"), None)
            ),
            0
        );
        assert_eq!(
            count(
                n("a", &put, None, Some(".png")),
                n("bb", &put, None, Some(".jpg"))
            ),
            0
        );
        assert_eq!(
            count(
                n("a", &put, None, Some(".png")),
                n("bb", &put, None, Some("thumb.png"))
            ),
            1
        );
        assert_eq!(
            count(
                n("a", &put, Some("x/"), Some(".png")),
                n("bb", &put, None, None)
            ),
            1
        );
        let mut other = n("bb", &put, None, None);
        other.bucket = "c";
        assert_eq!(count(n("a", &put, None, None), other), 0);

        let mut d = Vec::new();
        check_overlaps(
            &[n("a", &created, None, None), n("bb", &put, None, None)],
            &mut d,
        );
        assert_eq!(d[0].kind, ErrorKind::OverlappingNotification);
        assert_eq!(d[0].span.start, 2, "on the later binding");
        assert_eq!(d[0].related[0].0.start, 1, "related: the earlier one");
        assert_eq!(d[0].label, "`bb` gets `s3:ObjectCreated:Put` for every key");
        assert_eq!(
            d[0].related[0].1,
            "`a` gets `s3:ObjectCreated:*` for every key"
        );

        let mut d = Vec::new();
        let mut staged = n("bb", &put, None, None);
        staged.stage = Some("prod");
        check_overlaps(&[n("a", &created, None, None), staged], &mut d);
        assert!(
            d[0].message
                .starts_with("in stage `prod`: `a` and `bb` overlap"),
            "{}",
            d[0].message
        );
    }
}
