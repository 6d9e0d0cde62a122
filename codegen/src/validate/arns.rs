//! The ARNs function settings name: the `role` to run as, `managed_policies` to attach to the function's
//! own role, and `layers`. Each check takes the string as a stage resolves it (deploy-time variables as
//! the plan's `{partition}`, `{region}`, `{account}` placeholders) and the literal's span.

use crate::diag::{Diagnostic, ErrorKind, Span};

use super::names::{account_ok, parse_arn, partition_ok};

/// IAM role names are at most this long.
const MAX_ROLE_NAME: usize = 64;
/// Managed policy names are at most this long.
const MAX_POLICY_NAME: usize = 128;
/// IAM paths are at most this long.
const MAX_PATH: usize = 512;
/// Layer names are at most this long.
const MAX_LAYER_NAME: usize = 140;

const ROLE_HELP: &str = "give an IAM role ARN: `arn:aws:iam::ACCOUNT:role/NAME` (or `arn:${partition}:iam::${account}:role/NAME` in the deploy account)";
const POLICY_HELP: &str = "give a managed policy ARN: `arn:aws:iam::aws:policy/NAME` for AWS's own, `arn:aws:iam::ACCOUNT:policy/NAME` for yours";
const LAYER_HELP: &str =
    "give a layer version ARN: `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`";

/// The parts of an IAM ARN, `arn:PARTITION:iam::ACCOUNT:TYPE/[PATH/]NAME`.
struct IamArn<'a> {
    account: &'a str,
    /// `role`, `policy`, `user`, ...
    kind: &'a str,
    /// Between the type and the name, `/` when there is none.
    path: String,
    name: &'a str,
}

fn iam_arn(s: &str) -> Result<IamArn<'_>, String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(
            "an IAM ARN has six `:`-separated parts: arn:PARTITION:iam::ACCOUNT:RESOURCE".into(),
        );
    };
    if arn != "arn" {
        return Err("an ARN starts with `arn:`".into());
    }
    if !partition_ok(partition) {
        return Err(format!(
            "`{partition}` is not a partition (`aws`, `aws-cn`, `aws-us-gov`, ...)"
        ));
    }
    if service != "iam" {
        return Err(format!("this is a `{service}` ARN, not an IAM one"));
    }
    if !region.is_empty() {
        return Err(format!(
            "IAM ARNs have no region (`arn:aws:iam::ACCOUNT:...`), found `{region}`"
        ));
    }
    let Some((kind, rest)) = resource.split_once('/') else {
        return Err(format!(
            "`{resource}` is not an IAM resource (`role/NAME`, `policy/NAME`, ...)"
        ));
    };
    let (path, name) = match rest.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), rest),
    };
    Ok(IamArn {
        account,
        kind,
        path,
        name,
    })
}

/// IAM names: `[A-Za-z0-9+=,.@_-]` within `1..=max`.
fn iam_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=max).contains(&n) {
        return Err(format!(
            "{what} name `{name}` is {n} characters; IAM allows 1 to {max}"
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        Some(c) => Err(format!("{what} name `{name}` contains `{c}`")),
        None => Ok(()),
    }
}

/// IAM paths: `/` or `/SEGMENTS/` of printable ASCII, at most 512 characters.
fn iam_path(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH {
        return Err(format!(
            "the path is {} characters; IAM allows {MAX_PATH}",
            path.len()
        ));
    }
    if path.contains("//") {
        return Err(format!("the path `{path}` has an empty segment"));
    }
    match path.chars().find(|c| !('!'..='~').contains(c)) {
        Some(c) => Err(format!("the path `{path}` contains `{c}`")),
        None => Ok(()),
    }
}

fn invalid(kind: ErrorKind, span: Span, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(kind, span, message).label(label).help(help)
}

/// `role = "ARN"`: an IAM role ARN, `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub(crate) fn role(s: &str, span: Span) -> Result<(), Diagnostic> {
    let fail = |message: String, label: &str, help: &str| {
        Err(invalid(ErrorKind::InvalidRole, span, message, label, help))
    };
    if !s.starts_with("arn:") {
        return if iam_name("role", s, MAX_ROLE_NAME).is_ok() {
            fail(
                format!("`role` takes the role's ARN, not its name `{s}`"),
                "not an ARN",
                &format!(
                    "write `arn:${{partition}}:iam::${{account}}:role/{s}` for a role of the deploy account"
                ),
            )
        } else {
            fail(
                format!("`{s}` is not an IAM role ARN"),
                "not an ARN",
                ROLE_HELP,
            )
        };
    }
    let arn = match iam_arn(s) {
        Ok(arn) => arn,
        Err(reason) => {
            return fail(
                format!("invalid role ARN `{s}`: {reason}"),
                "not an IAM role ARN",
                ROLE_HELP,
            );
        }
    };
    let other = |what: &str, help: &str| {
        fail(
            format!("`{s}` is {what} ARN, not an IAM role's"),
            "not a role",
            help,
        )
    };
    match arn.kind {
        "role" => {}
        "policy" => {
            return other(
                "a managed policy",
                "attach managed policies to the function's own role with `managed_policies = [\"...\"]`; `role` names a role to run as instead",
            );
        }
        "user" => return other("an IAM user", ROLE_HELP),
        "group" => return other("an IAM group", ROLE_HELP),
        "instance-profile" => {
            return other(
                "an instance profile",
                "Lambda takes the role itself, not an instance profile; give the role's ARN",
            );
        }
        _ => return other(&format!("a `{}`", arn.kind), ROLE_HELP),
    }
    if !account_ok(arn.account) {
        return fail(
            format!(
                "invalid role ARN `{s}`: `{}` is not a 12-digit account id",
                arn.account
            ),
            "not an IAM role ARN",
            ROLE_HELP,
        );
    }
    if let Err(reason) =
        iam_path(&arn.path).and_then(|()| iam_name("role", arn.name, MAX_ROLE_NAME))
    {
        return fail(
            format!("invalid role ARN `{s}`: {reason}"),
            "invalid role",
            ROLE_HELP,
        );
    }
    Ok(())
}

/// One of `managed_policies`: `arn:PARTITION:iam::aws:policy/...` (AWS's) or
/// `arn:PARTITION:iam::ACCOUNT:policy/[PATH/]NAME`.
pub(crate) fn managed_policy(s: &str, span: Span) -> Result<(), Diagnostic> {
    let fail = |message: String, label: &str, help: &str| {
        Err(invalid(
            ErrorKind::InvalidManagedPolicy,
            span,
            message,
            label,
            help,
        ))
    };
    if !s.starts_with("arn:") {
        return if iam_name("policy", s, MAX_POLICY_NAME).is_ok() {
            fail(
                format!("`{s}` is a policy name; `managed_policies` takes ARNs"),
                "not an ARN",
                &format!(
                    "write `arn:${{partition}}:iam::aws:policy/{s}` for an AWS managed policy, `arn:${{partition}}:iam::${{account}}:policy/{s}` for one of the deploy account"
                ),
            )
        } else {
            fail(
                format!("`{s}` is not a managed policy ARN"),
                "not an ARN",
                POLICY_HELP,
            )
        };
    }
    let arn = match iam_arn(s) {
        Ok(arn) => arn,
        Err(reason) => {
            return fail(
                format!("invalid managed policy ARN `{s}`: {reason}"),
                "not a policy ARN",
                POLICY_HELP,
            );
        }
    };
    if arn.kind != "policy" {
        let help = if arn.kind == "role" {
            "a function runs as a role given with `role = \"ARN\"`; `managed_policies` lists policy ARNs"
        } else {
            POLICY_HELP
        };
        return fail(
            format!(
                "`{s}` is not a managed policy ARN (it names a `{}`)",
                arn.kind
            ),
            "not a policy",
            help,
        );
    }
    if arn.account != "aws" && !account_ok(arn.account) {
        return fail(
            format!(
                "invalid managed policy ARN `{s}`: `{}` is neither `aws` nor a 12-digit account id",
                arn.account
            ),
            "not a policy ARN",
            POLICY_HELP,
        );
    }
    if let Err(reason) =
        iam_path(&arn.path).and_then(|()| iam_name("policy", arn.name, MAX_POLICY_NAME))
    {
        return fail(
            format!("invalid managed policy ARN `{s}`: {reason}"),
            "invalid policy",
            POLICY_HELP,
        );
    }
    Ok(())
}

/// One of `layers`: a layer version ARN, `arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
pub(crate) fn layer(s: &str, span: Span) -> Result<(), Diagnostic> {
    let fail = |message: String, label: &str| {
        Err(invalid(
            ErrorKind::InvalidLayer,
            span,
            message,
            label,
            LAYER_HELP,
        ))
    };
    if !s.starts_with("arn:") {
        return fail(format!("`{s}` is not a layer version ARN"), "not an ARN");
    }
    let arn = match parse_arn(s, "lambda") {
        Ok(arn) => arn,
        Err(reason) => {
            return fail(
                format!("invalid layer ARN `{s}`: {reason}"),
                "not a layer ARN",
            );
        }
    };
    let Some(rest) = arn.resource.strip_prefix("layer:") else {
        return fail(
            format!("`{s}` is not a layer ARN: its resource is `layer:NAME:VERSION`"),
            "not a layer ARN",
        );
    };
    let Some((name, version)) = rest.split_once(':') else {
        return fail(
            format!(
                "layer ARN `{s}` has no version: Lambda attaches a layer version, `...:layer:{rest}:VERSION`"
            ),
            "no version",
        );
    };
    let n = name.chars().count();
    if !(1..=MAX_LAYER_NAME).contains(&n) {
        return fail(
            format!("layer name `{name}` is {n} characters; Lambda allows 1 to {MAX_LAYER_NAME}"),
            "invalid layer name",
        );
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return fail(
            format!("layer name `{name}` contains `{c}`"),
            "invalid layer name",
        );
    }
    let positive = version.bytes().all(|b| b.is_ascii_digit())
        && !version.starts_with('0')
        && !version.is_empty();
    if !positive {
        return fail(
            format!("layer version `{version}` of `{s}` is not a positive whole number"),
            "invalid version",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span = Span { start: 3, end: 9 };

    #[test]
    fn roles() {
        for ok in [
            "arn:aws:iam::123456789012:role/orders-prod-lambda",
            "arn:aws-cn:iam::123456789012:role/service-role/x+=,.@_-",
            "arn:{partition}:iam::{account}:role/orders-dev",
        ] {
            assert!(role(ok, SPAN).is_ok(), "{ok}");
        }
        let message = |s: &str| {
            let d = role(s, SPAN).unwrap_err();
            assert_eq!(d.kind, ErrorKind::InvalidRole, "{s}");
            (d.message, d.help.unwrap_or_default())
        };
        let (m, h) = message("orders-lambda");
        assert!(m.contains("not its name"), "{m}");
        assert!(
            h.contains("arn:${partition}:iam::${account}:role/orders-lambda"),
            "{h}"
        );
        assert!(
            message("arn:aws:iam::123456789012:user/bob")
                .0
                .contains("an IAM user ARN")
        );
        let (m, h) = message("arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert!(m.contains("a managed policy ARN"), "{m}");
        assert!(h.contains("managed_policies"), "{h}");
        for bad in [
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::1234:role/x",
            "arn:aws:sts::123456789012:assumed-role/x/y",
            "arn:aws:iam::123456789012:role/",
            &format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65)),
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam::123456789012:role//x",
            "arn:aws:iam::123456789012:role",
            "not a role!",
        ] {
            assert_eq!(
                role(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidRole,
                "{bad}"
            );
        }
    }

    #[test]
    fn managed_policies() {
        for ok in [
            "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:{partition}:iam::{account}:policy/team/orders-read",
        ] {
            assert!(managed_policy(ok, SPAN).is_ok(), "{ok}");
        }
        let d = managed_policy("AmazonS3ReadOnlyAccess", SPAN).unwrap_err();
        assert!(
            d.help
                .unwrap()
                .contains("arn:${partition}:iam::aws:policy/AmazonS3ReadOnlyAccess")
        );
        let d = managed_policy("arn:aws:iam::123456789012:role/r", SPAN).unwrap_err();
        assert!(d.help.unwrap().contains("`role = \"ARN\"`"));
        for bad in [
            "arn:aws:iam::amazon:policy/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::aws:policy/",
            "arn:aws:iam::aws:policy/a*b",
        ] {
            assert_eq!(
                managed_policy(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidManagedPolicy,
                "{bad}"
            );
        }
    }

    #[test]
    fn layers() {
        for ok in [
            "arn:aws:lambda:us-east-1:123456789012:layer:ext:3",
            "arn:{partition}:lambda:{region}:{account}:layer:my_layer-2:12",
        ] {
            assert!(layer(ok, SPAN).is_ok(), "{ok}");
        }
        for bad in [
            "ext",
            "arn:aws:lambda:us-east-1:123456789012:layer:ext",
            "arn:aws:lambda:us-east-1:123456789012:layer:ext:0",
            "arn:aws:lambda:us-east-1:123456789012:layer:ext:03",
            "arn:aws:lambda:us-east-1:123456789012:layer:ext:x",
            "arn:aws:lambda:us-east-1:123456789012:layer:e.x:1",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:s3:us-east-1:123456789012:layer:ext:1",
            &format!(
                "arn:aws:lambda:us-east-1:123456789012:layer:{}:1",
                "l".repeat(141)
            ),
        ] {
            assert_eq!(
                layer(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidLayer,
                "{bad}"
            );
        }
        let d = layer("arn:aws:lambda:us-east-1:123456789012:layer:ext", SPAN).unwrap_err();
        assert!(d.message.contains("has no version"), "{}", d.message);
    }
}
