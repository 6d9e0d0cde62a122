//! `events.chalice` text → [`ast::File`], with syntax errors as diagnostics.
//!
//! The file is parsed one top-level item at a time: after a syntax error the parser skips to the next
//! line that starts a declaration and carries on, so one run reports the errors of every item.

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::ast::{
    self, Binding, Block, DurationUnit, Entry, Item, Json, Kind, ScheduleFn, Source, Spanned, Value,
};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct ChaliceParser;

/// Words that start a top-level declaration.
const ITEM_KEYWORDS: [&str; 10] = [
    "app", "defaults", "stage", "schedule", "rule", "bucket", "topic", "queue", "stream", "table",
];

/// Parses a whole file. The AST holds every item that parsed; the diagnostics every syntax error.
pub fn parse(source: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut file = ast::File::default();
    let mut diags = Vec::new();
    let mut pos = 0;
    // Where the last item that parsed stopped (its trailing white space included).
    let mut item_ended_at = None;
    while pos <= source.len() {
        let rest = &source[pos..];
        match ChaliceParser::parse(Rule::item_or_end, rest) {
            Ok(mut pairs) => {
                let Some(inner) = pairs.next().and_then(|top| top.into_inner().next()) else {
                    break;
                };
                if inner.as_rule() == Rule::EOI {
                    break;
                }
                let end = inner.as_span().end();
                let mut builder = Builder {
                    offset: pos,
                    diags: &mut diags,
                };
                if let Some(item) = builder.item(inner) {
                    file.items.push(item);
                }
                if end == 0 {
                    break;
                }
                pos += end;
                item_ended_at = Some(pos);
            }
            Err(err) => {
                // A block that fails to parse leaves the item before it complete without it; drop that
                // item so the validator does not add errors about what the block would have said.
                if skip_trivia(rest).starts_with('{') && item_ended_at == Some(pos) {
                    file.items.pop();
                }
                let at = pos + error_offset(&err.location);
                diags.push(syntax_error(source, at, &err.variant));
                match recover(source, at) {
                    Some(next) if next > pos => pos = next,
                    _ => break,
                }
            }
        }
    }
    (file, diags)
}

/// `text` without its leading white space and comments.
fn skip_trivia(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        match text.strip_prefix('#') {
            Some(comment) => text = comment.split_once('\n').map_or("", |(_, rest)| rest),
            None => return text,
        }
    }
}

fn error_offset(location: &InputLocation) -> usize {
    match location {
        InputLocation::Pos(p) => *p,
        InputLocation::Span((start, _)) => *start,
    }
}

/// The start of the first line after `at` that begins with a declaration keyword and a name.
fn recover(source: &str, at: usize) -> Option<usize> {
    let mut line_start = source[at.min(source.len())..].find('\n')? + at + 1;
    loop {
        let line = &source[line_start..];
        let trimmed = line.trim_start_matches([' ', '\t', '\r']);
        let indent = line.len() - trimmed.len();
        let word_len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        let word = &trimmed[..word_len];
        let after = trimmed[word_len..].trim_start_matches([' ', '\t']);
        let starts_decl = ITEM_KEYWORDS.contains(&word)
            && word_len < trimmed.len()
            && after
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '{');
        if starts_decl {
            return Some(line_start + indent);
        }
        line_start += line.find('\n')? + 1;
    }
}

/// A pest failure turned into a diagnostic that says what was expected and what was found.
fn syntax_error(source: &str, at: usize, variant: &ErrorVariant<Rule>) -> Diagnostic {
    let found = token_at(source, at);
    let span = Span::new(at, at + found.len().max(usize::from(at < source.len())));
    let expected = match variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let found_text = if found.is_empty() {
        if at >= source.len() {
            "end of file".to_string()
        } else {
            "end of line".to_string()
        }
    } else {
        format!("`{found}`")
    };
    let mut diag = Diagnostic::new(
        ErrorKind::Syntax,
        span,
        format!("expected {expected}, found {found_text}"),
    )
    .label(format!("expected {expected}"));
    if let Some(help) = syntax_hint(source, at, found, variant) {
        diag = diag.help(help);
    }
    if found.starts_with('"') && !found[1..].contains('"') {
        diag.kind = ErrorKind::InvalidString;
        diag.message = "unterminated string".into();
        diag.label = "this string is not closed on its line".into();
        diag.help = Some(
            "close it with `\"`; strings cannot span lines (write `\\n` for a newline)".into(),
        );
    }
    diag
}

/// The word, string or single character at `at` (empty at a line end or the end of file).
fn token_at(source: &str, at: usize) -> &str {
    let rest = source.get(at..).unwrap_or("");
    let rest = rest.split('\n').next().unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    let len = if first == '"' {
        rest[1..].find('"').map_or(rest.len(), |i| i + 2)
    } else if first.is_ascii_alphanumeric() || first == '_' || first == '-' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    rest[..len].trim_end_matches('\r')
}

fn syntax_hint(
    source: &str,
    at: usize,
    found: &str,
    variant: &ErrorVariant<Rule>,
) -> Option<String> {
    let ErrorVariant::ParsingError { positives, .. } = variant else {
        return None;
    };
    if positives.contains(&Rule::kind) {
        if let Some(word) = did_you_mean(found, ITEM_KEYWORDS) {
            return Some(format!("did you mean `{word}`?"));
        }
        let prev = source[..at].trim_end();
        if found == "="
            || source[at..]
                .trim_start()
                .starts_with(|c: char| c.is_alphanumeric())
                && prev.ends_with('"')
        {
            return Some("a binding's options go in a block after it: `queue on_order \"orders\" { batch_size = 10 }`".into());
        }
        return Some(
            "each declaration starts with `app`, `defaults`, `stage` or an event-source kind: \
             `schedule`, `rule`, `bucket`, `topic`, `queue`, `stream`, `table`"
                .into(),
        );
    }
    if positives.contains(&Rule::schedule_expr) && found.starts_with('"') {
        return Some(
            "write the schedule without quotes: `rate(1 hour)` or `cron(0 2 * * ? *)`".into(),
        );
    }
    if positives.contains(&Rule::entry) || positives.contains(&Rule::key) {
        return Some("write options as `key = value`, separated by commas or new lines".into());
    }
    if positives.contains(&Rule::json_member) {
        return Some("JSON object keys are quoted: `{ \"source\": [\"aws.s3\"] }`".into());
    }
    None
}

fn describe_expected(rules: &[Rule]) -> String {
    const VALUE_RULES: [Rule; 8] = [
        Rule::json_object,
        Rule::list,
        Rule::string,
        Rule::duration,
        Rule::number,
        Rule::boolean,
        Rule::call,
        Rule::ident,
    ];
    let mut names: Vec<&str> = Vec::new();
    let is_value = rules.iter().filter(|r| VALUE_RULES.contains(r)).count() >= 3;
    let is_json = rules.contains(&Rule::json_literal) || rules.contains(&Rule::json_array);
    for rule in rules {
        let name = if is_json
            && (VALUE_RULES.contains(rule)
                || *rule == Rule::json_array
                || *rule == Rule::json_literal)
        {
            "a JSON value"
        } else if is_value && VALUE_RULES.contains(rule) {
            "a value"
        } else {
            rule_name(*rule)
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.as_slice() {
        [] => "something else".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How each grammar rule is named in messages.
fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::WHITESPACE | Rule::COMMENT => "white space",
        Rule::item_or_end | Rule::item => "a declaration",
        Rule::name_char => "a letter, digit, `_` or `-`",
        Rule::source => "a source (a quoted name, or `rate(...)`/`cron(...)`)",
        Rule::value => "a value",
        Rule::json_value => "a JSON value",
        Rule::app_decl | Rule::kw_app => "`app`",
        Rule::defaults_decl | Rule::kw_defaults => "`defaults`",
        Rule::stage_decl | Rule::kw_stage => "`stage`",
        Rule::binding | Rule::kind => "an event-source kind",
        Rule::name => "a name",
        Rule::schedule_expr | Rule::schedule_fn => "`rate(...)` or `cron(...)`",
        Rule::schedule_body => "a schedule expression",
        Rule::block => "`{`",
        Rule::entry => "an option (`key = value`)",
        Rule::key => "an option name",
        Rule::list => "a list",
        Rule::call => "a call",
        Rule::duration => "a duration (`60s`)",
        Rule::number => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::ident => "a word",
        Rule::string | Rule::string_raw => "a string",
        Rule::json_object => "a JSON object",
        Rule::json_member => "a JSON member (`\"key\": value`)",
        Rule::json_array => "a JSON array",
        Rule::json_literal => "`true`, `false` or `null`",
        Rule::EOI => "end of file",
    }
}

/// Turns pest pairs into AST nodes, shifting spans by the item's offset in the file.
struct Builder<'d> {
    offset: usize,
    diags: &'d mut Vec<Diagnostic>,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.offset + s.start(), self.offset + s.end())
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        // pest's span of an item with an optional tail runs on over the white space and comments
        // after it; the item ends where its last part does.
        let mut span = self.span(&pair);
        if let Some(last) = pair.clone().into_inner().last() {
            span.end = self.span(&last).end;
        }
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        match rule {
            Rule::app_decl => {
                inner.next();
                let name = self.name(inner.next()?);
                Some(Item::App { name, span })
            }
            Rule::defaults_decl => {
                inner.next();
                let block = self.block(inner.next()?);
                Some(Item::Defaults { block, span })
            }
            Rule::stage_decl => {
                inner.next();
                let name = self.name(inner.next()?);
                let block = inner.next().map(|b| self.block(b));
                Some(Item::Stage { name, block, span })
            }
            Rule::binding => {
                let kind_pair = inner.next()?;
                let kind = Spanned::new(
                    Kind::from_keyword(kind_pair.as_str())?,
                    self.span(&kind_pair),
                );
                let handler = self.name(inner.next()?);
                let mut source = None;
                let mut block = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::block => block = Some(self.block(part)),
                        _ => source = self.source(part),
                    }
                }
                Some(Item::Binding(Binding {
                    kind,
                    handler,
                    source,
                    block,
                    span,
                }))
            }
            _ => None,
        }
    }

    fn name(&self, pair: Pair<'_, Rule>) -> Spanned<String> {
        Spanned::new(pair.as_str().to_string(), self.span(&pair))
    }

    fn source(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Source>> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::string => Some(Spanned::new(Source::Str(self.string(pair)), span)),
            Rule::schedule_expr => {
                let mut inner = pair.into_inner();
                let function = match inner.next()?.as_str() {
                    "rate" => ScheduleFn::Rate,
                    _ => ScheduleFn::Cron,
                };
                let body = inner.next()?;
                let body_span = self.span(&body);
                Some(Spanned::new(
                    Source::Schedule {
                        function,
                        body: body.as_str().to_string(),
                        body_span,
                    },
                    span,
                ))
            }
            _ => None,
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = self.span(&pair);
        let entries = pair
            .into_inner()
            .filter_map(|entry| self.entry(entry))
            .collect();
        Block { entries, span }
    }

    fn entry(&mut self, pair: Pair<'_, Rule>) -> Option<Entry> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let key_pair = inner.next()?.into_inner().next()?;
        let key_span = self.span(&key_pair);
        let key = match key_pair.as_rule() {
            Rule::string => self.string(key_pair),
            _ => key_pair.as_str().to_string(),
        };
        let value_pair = inner.next()?;
        let value = if value_pair.as_rule() == Rule::block {
            let block = self.block(value_pair);
            Spanned::new(Value::Block(block.clone()), block.span)
        } else {
            self.value(value_pair)
        };
        Some(Entry {
            key: Spanned::new(key, key_span),
            value,
            span,
        })
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Spanned<Value> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let node = match pair.as_rule() {
            Rule::string => Value::Str(self.string(pair)),
            Rule::number => self.number(text, span),
            Rule::duration => self.duration(text, span),
            Rule::boolean => Value::Bool(text == "true"),
            Rule::ident => Value::Ident(text.to_string()),
            Rule::list => Value::List(pair.into_inner().map(|p| self.value(p)).collect()),
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = inner
                    .next()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                match inner.next() {
                    Some(arg) => Value::Call {
                        name,
                        arg: Box::new(self.value(arg)),
                    },
                    None => Value::Ident(name),
                }
            }
            Rule::json_object => Value::Json(self.json(pair).node),
            _ => Value::Ident(text.to_string()),
        };
        Spanned::new(node, span)
    }

    fn number(&mut self, text: &str, span: Span) -> Value {
        if text.contains(['.', 'e', 'E']) {
            return text.parse::<f64>().map_or(Value::Int(0), Value::Float);
        }
        match text.parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => {
                self.diags.push(
                    Diagnostic::new(
                        ErrorKind::InvalidNumber,
                        span,
                        format!("number `{text}` is too large"),
                    )
                    .label("does not fit in 64 bits")
                    .help("AWS limits are far smaller; check the value"),
                );
                Value::Int(0)
            }
        }
    }

    fn duration(&mut self, text: &str, span: Span) -> Value {
        let digits_end = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let unit = match &text[digits_end..] {
            "ms" => DurationUnit::Millis,
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "d" => DurationUnit::Days,
            _ => DurationUnit::Hours,
        };
        match text[..digits_end].parse::<i64>() {
            Ok(amount) => Value::Duration { amount, unit },
            Err(_) => {
                self.diags.push(
                    Diagnostic::new(
                        ErrorKind::InvalidNumber,
                        span,
                        format!("duration `{text}` is too large"),
                    )
                    .label("does not fit in 64 bits"),
                );
                Value::Duration { amount: 0, unit }
            }
        }
    }

    fn json(&mut self, pair: Pair<'_, Rule>) -> Spanned<Json> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let node = match pair.as_rule() {
            Rule::json_object => Json::Object(
                pair.into_inner()
                    .filter_map(|member| {
                        let mut parts = member.into_inner();
                        let key = parts.next()?;
                        let key = Spanned::new(self.string(key.clone()), self.span(&key));
                        let value = self.json(parts.next()?);
                        Some((key, value))
                    })
                    .collect(),
            ),
            Rule::json_array => Json::Array(pair.into_inner().map(|p| self.json(p)).collect()),
            Rule::string => Json::Str(self.string(pair)),
            Rule::number => match serde_json::from_str::<serde_json::Number>(text) {
                Ok(n) => Json::Number(n),
                Err(_) => {
                    self.diags.push(
                        Diagnostic::new(
                            ErrorKind::InvalidNumber,
                            span,
                            format!("number `{text}` is out of range"),
                        )
                        .label("not a finite JSON number"),
                    );
                    Json::Null
                }
            },
            _ => match text {
                "true" => Json::Bool(true),
                "false" => Json::Bool(false),
                _ => Json::Null,
            },
        };
        Spanned::new(node, span)
    }

    /// The text of a string literal with its escapes resolved; bad escapes are reported.
    fn string(&mut self, pair: Pair<'_, Rule>) -> String {
        let Some(raw) = pair.into_inner().next() else {
            return String::new();
        };
        let base = self.span(&raw).start;
        let text = raw.as_str();
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, esc)) = chars.next() else { break };
            match esc {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = text[i + 2..].chars().take(4).collect();
                    let ok = hex.len() == 4
                        && u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .map(|ch| out.push(ch))
                            .is_some();
                    if ok {
                        for _ in 0..4 {
                            chars.next();
                        }
                    } else {
                        let end = i + 2 + hex.len();
                        self.diags.push(
                            Diagnostic::new(
                                ErrorKind::InvalidString,
                                Span::new(base + i, base + end),
                                "invalid unicode escape",
                            )
                            .label("expected `\\u` and four hex digits of a character")
                            .help("write the character itself, or `\\u00e9` style escapes"),
                        );
                    }
                }
                other => {
                    let end = i + 1 + other.len_utf8();
                    self.diags.push(
                        Diagnostic::new(
                            ErrorKind::InvalidString,
                            Span::new(base + i, base + end),
                            format!("unknown escape `\\{other}`"),
                        )
                        .label("unknown escape")
                        .help("escapes are \\\" \\\\ \\/ \\n \\t \\r \\b \\f and \\uXXXX; write `\\\\` for a backslash"),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(src: &str) -> Vec<Item> {
        let (file, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        file.items
    }

    #[test]
    fn parses_every_item_kind() {
        let src = r#"
app orders
defaults { memory = 256, timeout = 60s, env { LOG_LEVEL = "info" } }
stage prod { memory = 512 }
schedule every_hour rate(1 hour)
schedule nightly cron(0 2 * * ? *) { description = "Nightly report" }
rule code_commit { pattern = { "source": ["aws.codecommit"] } }
bucket on_upload "mybucket-name" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }
topic on_notice "my-demo-topic"
queue on_order "my-queue" { batch_size = 10, batching_window = 5s }
stream on_click "mystream" { starting_position = trim_horizon }
table on_audit "orders" { starting_position = latest }
"#;
        let items = items(src);
        assert_eq!(items.len(), 11);
        let Item::Binding(b) = &items[4] else {
            panic!("not a binding")
        };
        assert_eq!(b.handler.node, "nightly");
        let Some(Spanned {
            node:
                Source::Schedule {
                    function,
                    body,
                    body_span,
                },
            ..
        }) = &b.source
        else {
            panic!("no schedule")
        };
        assert_eq!(*function, ScheduleFn::Cron);
        assert_eq!(body, "0 2 * * ? *");
        assert_eq!(&src[body_span.start..body_span.end], "0 2 * * ? *");
    }

    #[test]
    fn values_keep_types_and_spans() {
        let src = "queue q \"x\" { a = 5s, b = -3, c = true, d = [1, \"two\",], e = at_timestamp(\"t\"), f = { \"k\": [1.5, null] } }";
        let items = items(src);
        let Item::Binding(b) = &items[0] else {
            panic!()
        };
        let entries = &b.block.as_ref().unwrap().entries;
        assert_eq!(
            entries[0].value.node,
            Value::Duration {
                amount: 5,
                unit: DurationUnit::Seconds
            }
        );
        assert_eq!(entries[1].value.node, Value::Int(-3));
        assert_eq!(entries[2].value.node, Value::Bool(true));
        assert!(matches!(&entries[3].value.node, Value::List(v) if v.len() == 2));
        assert!(
            matches!(&entries[4].value.node, Value::Call { name, .. } if name == "at_timestamp")
        );
        let Value::Json(json) = &entries[5].value.node else {
            panic!()
        };
        assert_eq!(json.to_value(), serde_json::json!({"k": [1.5, null]}));
        let span = entries[1].value.span;
        assert_eq!(&src[span.start..span.end], "-3");
    }

    #[test]
    fn escapes_resolve_and_bad_ones_are_reported() {
        let (file, diags) = parse(r#"topic t "a\"b\u00e9\n" { x = "bad\q" }"#);
        let Item::Binding(b) = &file.items[0] else {
            panic!()
        };
        assert_eq!(
            b.source.as_ref().unwrap().node,
            Source::Str("a\"bé\n".into())
        );
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].kind, ErrorKind::InvalidString);
    }

    #[test]
    fn recovers_to_report_errors_in_several_items() {
        let src = "app a\nqueue q \"x\" { batch_size = }\ntopic t \"y\"\nbucket b { events = [ }\ntable t2 \"z\"\n";
        let (file, diags) = parse(src);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| d.kind == ErrorKind::Syntax));
        let names: Vec<_> = file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Binding(b) => Some(b.handler.node.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            ["t", "t2"],
            "bindings whose block failed are dropped"
        );
    }

    #[test]
    fn unknown_keyword_suggests_the_closest() {
        let (_, diags) = parse("app a\nschedul x rate(1 hour)\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `schedule`?"));
        assert!(
            diags[0].message.contains("found `schedul`"),
            "{}",
            diags[0].message
        );
    }

    #[test]
    fn unterminated_string_is_named() {
        let (_, diags) = parse("app a\ntopic t \"oops\n");
        assert_eq!(diags[0].kind, ErrorKind::InvalidString);
    }

    #[test]
    fn comments_and_layout_are_free() {
        let src =
            "# top\napp   a # trailing\n\n\tqueue\n q\n \"x\"\n {\n batch_size = 1 # c\n ,\n }\n";
        assert_eq!(items(src).len(), 2);
    }
}
