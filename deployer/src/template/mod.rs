//! CloudFormation and SAM templates of a stage: the same plan `deploy` executes, as a template that
//! CloudFormation (or `sam deploy`) makes real.
//!
//! [`render`] turns a [`Plan`] and the digests of its code zips into the template's text and what the
//! user must give to deploy it (parameters, files). Both formats make the same resources with the same
//! settings as `deploy`: per-function roles, log groups (kept on delete), functions, rules and targets,
//! permissions, subscriptions, event source mappings, event invoke configurations, and this app's
//! entries in buckets it does not own (a custom resource, [`bucket_notifications`]).
//! Plan placeholders `{partition}`, `{region}`, `{account}` become `${AWS::Partition}`,
//! `${AWS::Region}`, `${AWS::AccountId}` in `Fn::Sub`.

pub mod bucket_notifications;
pub mod cloudformation;
pub mod guide;
pub mod logical_ids;
pub mod sam;
pub mod yaml;

use std::collections::BTreeSet;

use chalice_codegen::plan::Plan;
use serde_json::{Map, Value, json};

use crate::resources::CodeSet;

/// Which kind of template to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain CloudFormation, JSON; code from S3 (bucket and key parameters).
    CloudFormation,
    /// AWS SAM, YAML; code from the zips beside the template (`CodeUri`), uploaded by `sam deploy`.
    Sam,
}

impl Format {
    /// The template's file name: `template.json` or `template.yaml`.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::CloudFormation => "template.json",
            Format::Sam => "template.yaml",
        }
    }
}

/// A template parameter the user gives at deploy time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its logical id (`CodeBucket`, `OnAuditStreamArn`).
    pub name: String,
    pub description: String,
    /// Its default, if it has one (it then need not be given).
    pub default: Option<String>,
    /// A shell command that prints its value, when there is one (the table's stream ARN).
    pub lookup: Option<String>,
}

/// One code zip the template references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFile {
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Its file name beside the template: `bootstrap-<arch>.zip`.
    pub file_name: String,
    /// Where the CloudFormation template expects it in the code bucket (the same key `deploy` uses).
    pub key: String,
}

/// A rendered template and what deploying it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub format: Format,
    /// The template, ending with a newline.
    pub text: String,
    /// Every parameter, in template order.
    pub parameters: Vec<Parameter>,
    /// The code zips, one per architecture the functions use.
    pub code: Vec<CodeFile>,
}

/// Why a template could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "two resources of the template would have the logical id `{id}`; rename one of the handlers"
    )]
    DuplicateLogicalId { id: String },
    #[error("{what} is not JSON: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    #[error("handler `{handler}`: `{value}` is not an RFC 3339 timestamp")]
    Timestamp { handler: String, value: String },
    #[error("function `{function}` runs on {architecture}, but no bootstrap was built for it")]
    NoCode {
        function: String,
        architecture: String,
    },
    #[error("the plan names handler `{handler}`, which has no function")]
    UnknownHandler { handler: String },
}

/// The template of `plan` in `format`, its functions running the zips whose digests `code` holds.
pub fn render(plan: &Plan, format: Format, code: &CodeSet) -> Result<Rendered, TemplateError> {
    let template = cloudformation::build(plan, code)?;
    let template = match format {
        Format::CloudFormation => template,
        Format::Sam => sam::convert(plan, template)?,
    };
    let text = match format {
        Format::CloudFormation => {
            let json = serde_json::to_string_pretty(&template.to_value()).map_err(|source| {
                TemplateError::Json {
                    what: "the template".into(),
                    source,
                }
            })?;
            json + "\n"
        }
        Format::Sam => yaml::to_yaml(&template.to_value()),
    };
    Ok(Rendered {
        format,
        text,
        parameters: template.parameter_docs.clone(),
        code: template.code.clone(),
    })
}

/// A template being built: parameters and resources in insertion order, every logical id once.
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub description: String,
    pub transform: Option<String>,
    pub parameters: Vec<(String, Value)>,
    pub parameter_docs: Vec<Parameter>,
    pub resources: Vec<(String, Value)>,
    pub outputs: Vec<(String, Value)>,
    pub code: Vec<CodeFile>,
    ids: BTreeSet<String>,
}

impl Template {
    /// Claims `id`; refused when a parameter or resource already has it.
    pub fn claim(&mut self, id: &str) -> Result<(), TemplateError> {
        if self.ids.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(TemplateError::DuplicateLogicalId { id: id.to_owned() })
        }
    }

    /// Adds a resource.
    pub fn resource(&mut self, id: &str, value: Value) -> Result<(), TemplateError> {
        self.claim(id)?;
        self.resources.push((id.to_owned(), value));
        Ok(())
    }

    /// Adds a parameter and its documentation.
    pub fn parameter(&mut self, doc: Parameter, value: Value) -> Result<(), TemplateError> {
        self.claim(&doc.name)?;
        self.parameters.push((doc.name.clone(), value));
        self.parameter_docs.push(doc);
        Ok(())
    }

    /// Removes the resource `id` (its id stays claimed), returning it.
    pub fn take(&mut self, id: &str) -> Option<Value> {
        let i = self.resources.iter().position(|(k, _)| k == id)?;
        Some(self.resources.remove(i).1)
    }

    /// The resource `id`, to edit.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.resources
            .iter_mut()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v)
    }

    /// Removes the parameter `id`.
    pub fn drop_parameter(&mut self, id: &str) {
        self.parameters.retain(|(k, _)| k != id);
        self.parameter_docs.retain(|p| p.name != id);
    }

    /// The whole template as JSON, sections in CloudFormation's usual order.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        if let Some(t) = &self.transform {
            out.insert("Transform".into(), json!(t));
        }
        out.insert("Description".into(), json!(self.description));
        let section = |items: &[(String, Value)]| {
            Value::Object(items.iter().cloned().collect::<Map<String, Value>>())
        };
        if !self.parameters.is_empty() {
            out.insert("Parameters".into(), section(&self.parameters));
        }
        out.insert("Resources".into(), section(&self.resources));
        if !self.outputs.is_empty() {
            out.insert("Outputs".into(), section(&self.outputs));
        }
        Value::Object(out)
    }
}

/// A plan string (an ARN template) as a template value: `Fn::Sub` with the placeholders as pseudo
/// parameters when it has any (a literal `${` escaped as `${!`), the string itself otherwise.
pub fn sub(s: &str) -> Value {
    const PLACEHOLDERS: [(&str, &str); 3] = [
        ("{partition}", "${AWS::Partition}"),
        ("{region}", "${AWS::Region}"),
        ("{account}", "${AWS::AccountId}"),
    ];
    if !PLACEHOLDERS.iter().any(|(p, _)| s.contains(p)) {
        return json!(s);
    }
    let mut text = s.replace("${", "${!");
    for (p, pseudo) in PLACEHOLDERS {
        text = text.replace(p, pseudo);
    }
    json!({ "Fn::Sub": text })
}

/// Every string of a JSON value (a policy statement from the file) through [`sub`].
pub fn sub_json(v: &Value) -> Value {
    match v {
        Value::String(s) => sub(s),
        Value::Array(items) => Value::Array(items.iter().map(sub_json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), sub_json(v))).collect())
        }
        other => other.clone(),
    }
}

/// `{"Ref": id}`
pub fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// `{"Fn::GetAtt": [id, attribute]}`
pub fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_pseudo_parameters_and_literal_variables_are_escaped() {
        assert_eq!(
            sub("arn:aws:sqs:us-east-1:1:q"),
            json!("arn:aws:sqs:us-east-1:1:q")
        );
        assert_eq!(
            sub("arn:{partition}:sqs:{region}:{account}:q"),
            json!({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"})
        );
        assert_eq!(
            sub("arn:{partition}:s3:::b/${aws:username}/*"),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/${!aws:username}/*"})
        );
        // Without placeholders IAM's own variables stay as written (no Fn::Sub reads them).
        assert_eq!(
            sub("arn:aws:s3:::b/${aws:username}"),
            json!("arn:aws:s3:::b/${aws:username}")
        );
    }
}
