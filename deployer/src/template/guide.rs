//! What to run after `deployer package`: the upload and deploy commands, with every parameter the
//! template needs.

use std::fmt::Write as _;
use std::path::Path;

use super::{Format, Rendered};

/// The stack name the printed commands use: `<app>-<stage>`.
pub fn stack_name(app: &str, stage: &str) -> String {
    format!("{app}-{stage}")
}

/// Single-quotes `s` for a POSIX shell when it needs it.
fn shell(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `--parameter-overrides` values of the parameters without a default (and `CodeBucket`).
fn overrides(rendered: &Rendered, bucket: &str) -> Vec<String> {
    rendered
        .parameters
        .iter()
        .filter(|p| p.default.is_none())
        .map(|p| match &p.lookup {
            Some(cmd) => format!("{}=\"$({cmd})\"", p.name),
            None if p.name == super::cloudformation::CODE_BUCKET => format!("{}={bucket}", p.name),
            None => format!("{}=VALUE", p.name),
        })
        .collect()
}

/// The commands that upload the code and create or update the stack `stack` from the files in `dir`.
pub fn instructions(rendered: &Rendered, dir: &Path, stack: &str) -> String {
    let dir_text = shell(&dir.display().to_string());
    let template = shell(&dir.join(rendered.format.file_name()).display().to_string());
    let mut out = String::new();
    match rendered.format {
        Format::CloudFormation => {
            let bucket = "$CODE_BUCKET";
            let _ = writeln!(
                out,
                "Upload the code to a bucket of yours in the stack's region (CODE_BUCKET), then create or update the stack:\n"
            );
            let _ = writeln!(out, "  CODE_BUCKET=my-artifacts-bucket");
            for c in &rendered.code {
                let _ = writeln!(
                    out,
                    "  aws s3 cp {} \"s3://{bucket}/{}\"",
                    shell(&dir.join(&c.file_name).display().to_string()),
                    c.key
                );
            }
            let _ = write!(
                out,
                "  aws cloudformation deploy --template-file {template} --stack-name {} \\\n    \
                 --capabilities CAPABILITY_NAMED_IAM \\\n    --parameter-overrides",
                shell(stack)
            );
            for o in overrides(rendered, bucket) {
                let _ = write!(out, " \\\n      {o}");
            }
            out.push('\n');
        }
        Format::Sam => {
            let _ = writeln!(
                out,
                "Deploy with the SAM CLI (it uploads the zips the template names, relative to {dir_text}):\n"
            );
            let _ = writeln!(
                out,
                "  sam deploy --guided --template-file {template}      # the first time; answers go to samconfig.toml"
            );
            let _ = write!(
                out,
                "  sam deploy --template-file {template} --stack-name {} --resolve-s3 \\\n    \
                 --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND",
                shell(stack)
            );
            let params = overrides(rendered, "");
            if !params.is_empty() {
                let _ = write!(out, " \\\n    --parameter-overrides");
                for o in params {
                    let _ = write!(out, " \\\n      {o}");
                }
            }
            out.push('\n');
        }
    }
    let needed: Vec<_> = rendered
        .parameters
        .iter()
        .filter(|p| p.default.is_none())
        .collect();
    if !needed.is_empty() {
        let _ = writeln!(out, "\nParameters:");
        for p in needed {
            let _ = writeln!(out, "  {}: {}", p.name, p.description);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell("a/b-c.zip"), "a/b-c.zip");
        assert_eq!(shell("a b"), "'a b'");
        assert_eq!(shell("it's"), r"'it'\''s'");
    }
}
