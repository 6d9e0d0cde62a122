//! A small, deterministic JSON → YAML emitter for SAM templates: block style, two-space indent, keys in
//! the order the JSON holds them. A string is written plain only when no YAML 1.1 or 1.2 reader can take
//! it for anything else (a number, a boolean, null, a date, an alias, a comment, ...); otherwise it is
//! double-quoted with escapes. Multi-line strings (the inline Python of the bucket notification handler)
//! are literal blocks.

use serde_json::Value;

/// `value` as a YAML document, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (i, (k, v)) in map.iter().enumerate() {
        // The first key of a map inside a sequence item follows the `- ` directly.
        if i > 0 || out.is_empty() || out.ends_with('\n') {
            indent(out, level);
        }
        out.push_str(&string_text(k));
        out.push(':');
        write_value_after_key(out, v, level);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            // Sequences under a key are indented like the keys of a nested map.
            write_seq(out, items, level + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar, level + 2));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, level + 2),
            Value::Array(inner) if !inner.is_empty() => {
                out.pop();
                out.push('\n');
                write_seq(out, inner, level + 2);
            }
            scalar => {
                out.push_str(&scalar_text(scalar, level + 2));
                out.push('\n');
            }
        }
    }
}

/// A scalar (or an empty collection) as YAML text; `level` is the indentation of a block's lines.
fn scalar_text(v: &Value, level: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match literal_block(s, level) {
            Some(block) => block,
            None => string_text(s),
        },
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Words YAML 1.1 or 1.2 reads as booleans or null, in any case.
const RESERVED: [&str; 14] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=", ".inf", ".nan",
];

/// Whether `s` reads back as this very string when written plain.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Digits, signs and dots could start a number, a date or a sexagesimal (YAML 1.1's `1:20`).
    if !(first.is_ascii_alphabetic() || first == '/' || first == '$' || first == '_') {
        return false;
    }
    if RESERVED.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    if s.ends_with(':') || s.contains(": ") || s.contains(" #") || s.ends_with(' ') {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:$@ ".contains(c))
}

/// A string as a plain or double-quoted YAML scalar.
pub fn string_text(s: &str) -> String {
    if plain_ok(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, DEL, C1 controls (NEL is a line break in YAML 1.1), the Unicode line
            // and paragraph separators and the BOM are escaped.
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || c == '\u{2028}'
                || c == '\u{2029}'
                || c == '\u{feff}' =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A multi-line string as a literal block (`|`, `|-` or `|+` as its final newlines need), when every
/// line can be written as is.
fn literal_block(s: &str, level: usize) -> Option<String> {
    if !s.contains('\n') || s.starts_with([' ', '\n']) {
        return None;
    }
    let printable = |c: char| {
        c == '\n'
            || c == '\t'
            || (!c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
    };
    if !s.chars().all(printable) {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let chomp = match s.len() - body.len() {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, level);
            out.push_str(line);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "",
            "yes",
            "No",
            "ON",
            "true",
            "null",
            "~",
            "1",
            "1.5",
            "0x1F",
            "1e3",
            "1:20",
            "2026-12-06",
            "-dash",
            ".hidden",
            "a: b",
            "a #c",
            "trail:",
            "*star",
            "&anchor",
            "!tag",
            "%pct",
            "@at",
            "`tick",
            "{x}",
            "[x]",
            "a,b",
            "'q'",
            "\"q\"",
            "<<",
            "x ",
            " x",
            "é",
            "ref|x",
            ">fold",
        ] {
            let text = string_text(s);
            assert!(text.starts_with('"'), "{s:?} written plain: {text}");
        }
    }

    #[test]
    fn safe_strings_stay_plain() {
        for s in [
            "AWS::Lambda::Function",
            "provided.al2023",
            "/aws/lambda/orders-dev-on_order",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "OnOrderFunction",
            "Nightly report",
        ] {
            assert_eq!(string_text(s), s);
        }
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            string_text("a\"b\\c\n\u{85}\u{2028}\u{1}"),
            r#""a\"b\\c\n\u0085\u2028\u0001""#
        );
    }

    #[test]
    fn block_layout() {
        let v = json!({
            "Resources": {
                "F": {"Type": "AWS::Lambda::Function", "Properties": {
                    "Tags": [{"Key": "chalice:app", "Value": "orders"}],
                    "Empty": {}, "None": [], "Num": 3, "B": false, "Z": null,
                    "Nested": [[1, 2], ["x"]],
                    "Code": "line 1\n  line 2\n\nend\n",
                }}
            }
        });
        let want = "\
Resources:
  F:
    Type: AWS::Lambda::Function
    Properties:
      Tags:
        - Key: chalice:app
          Value: orders
      Empty: {}
      None: []
      Num: 3
      B: false
      Z: null
      Nested:
        -
          - 1
          - 2
        -
          - x
      Code: |
        line 1
          line 2

        end
";
        assert_eq!(to_yaml(&v), want);
    }

    #[test]
    fn chomping_follows_the_final_newlines() {
        assert_eq!(scalar_text(&json!("a\nb"), 2), "|-\n  a\n  b");
        assert_eq!(scalar_text(&json!("a\nb\n\n"), 2), "|+\n  a\n  b\n");
        assert_eq!(scalar_text(&json!(" a\nb"), 2), "\" a\\nb\"");
    }
}
