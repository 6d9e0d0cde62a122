//! Lambda resource-policy statements letting EventBridge, S3 and SNS invoke a function, each naming
//! its `SourceArn` (and `SourceAccount` for S3).

use std::collections::BTreeMap;
use std::time::Duration;

use chalice_codegen::plan::AwsContext;
use serde::Serialize;
use serde_json::Value;

use super::call::{CallError, found, gone};
use super::change::{Action, Change, DeleteReason, FieldChange};
use super::compare::field;
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError};
use crate::aws::{Attempts, Clients};

/// One statement of a function's resource policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionSpec {
    /// The function's name.
    pub function: String,
    pub statement_id: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
}

/// A statement of a function's resource policy.
pub struct Permission;

impl Resource for Permission {
    type Spec = PermissionSpec;
    type Store = BTreeMap<String, Vec<PermissionSpec>>;
    const KIND: ResourceKind = ResourceKind::LambdaPermission;
    const AFTER: &'static [(ResourceKind, Scope)] =
        &[(ResourceKind::LambdaFunction, Scope::SameFunction)];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Permission {
            function: spec.function.clone(),
            statement_id: spec.statement_id.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for p in &r.plan.permissions {
            let Some(function) = r.function_name(&p.function) else {
                continue;
            };
            out.push((
                p.id.clone(),
                PermissionSpec {
                    function,
                    statement_id: p.statement_id.clone(),
                    action: "lambda:InvokeFunction".into(),
                    principal: p.principal.clone(),
                    source_arn: Some(p.source_arn.resolve(r.ctx)),
                    source_account: p.source_account.then(|| r.ctx.account.clone()),
                },
            ));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::Permission { function, .. } => Some(function.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, facts: &Facts<'_>) -> Option<bool> {
        let Identity::Permission {
            function,
            statement_id,
        } = identity
        else {
            return None;
        };
        match facts.function(function) {
            Some(false) => Some(false),
            _ => live
                .get(function)
                .map(|p| p.iter().any(|s| &s.statement_id == statement_id)),
        }
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let identity = Self::identity(spec);
        let create = || vec![Change::new(id, identity.clone(), None, Action::Create)];
        if facts.function(&spec.function) == Some(false) {
            return create();
        }
        let Some(statements) = live.get(&spec.function) else {
            return Vec::new();
        };
        let found: Vec<&PermissionSpec> = statements
            .iter()
            .filter(|s| s.statement_id == spec.statement_id)
            .collect();
        let Some((first, extras)) = found.split_first() else {
            return create();
        };
        let mut changes = Vec::new();
        let fields = permission_fields(spec, first);
        if !fields.is_empty() {
            changes.push(Change::new(
                id,
                identity.clone(),
                None,
                Action::Update { fields },
            ));
        }
        // AWS refuses a second statement with one id; moto keeps both (a retried add). Each
        // RemovePermission removes one of them.
        changes.extend(
            (0..extras.len()).map(|i| Change::duplicate(id, &identity, &format!("#{}", i + 2))),
        );
        changes
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Permission { statement_id, .. } = identity else {
            return None;
        };
        (Self::exists(identity, live, facts) == Some(true)).then(|| Record {
            physical_id: Some(statement_id.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Permission {
            function,
            statement_id,
        } = &change.identity
        else {
            return Err(StepError::Internal(format!(
                "{} is not a permission",
                change.id
            )));
        };
        if let Action::Delete { reason } = change.action {
            let note = if step.deleted_functions.contains(function) {
                Some("removed with its function".to_string())
            } else {
                remove_permission(c, function, statement_id).await?;
                None
            };
            if reason != DeleteReason::Duplicate {
                step.records.forget(&change.identity)?;
            }
            return Ok(note);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        if matches!(change.action, Action::Update { .. }) {
            remove_permission(c, function, statement_id).await?;
        }
        add_permission(c, spec).await?;
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                physical_id: Some(statement_id.clone()),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

fn permission_fields(d: &PermissionSpec, l: &PermissionSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(&mut out, "action", Some(&d.action), Some(&l.action));
    field(
        &mut out,
        "principal",
        Some(&d.principal),
        Some(&l.principal),
    );
    field(
        &mut out,
        "source_arn",
        d.source_arn.as_ref(),
        l.source_arn.as_ref(),
    );
    field(
        &mut out,
        "source_account",
        d.source_account.as_ref(),
        l.source_account.as_ref(),
    );
    out
}

const NOT_FOUND: &str = "ResourceNotFoundException";

/// Every statement of the function's resource policy (one GetPolicy); none when it has no policy.
pub async fn read_policy(c: &Clients, function: &str) -> Result<Vec<PermissionSpec>, CallError> {
    let out = c.lambda.get_policy().function_name(function).send().await;
    let out = found(
        out.map_err(|e| CallError::new("GetPolicy", function, e)),
        |e| e.has_code(NOT_FOUND),
    )?;
    let Some(text) = out.as_ref().and_then(|o| o.policy()) else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        CallError::other(
            "GetPolicy",
            function,
            format!("the policy is not JSON: {e}"),
        )
    })?;
    Ok(parse_statements(function, &doc))
}

/// The statements of a function policy document, as specs.
pub fn parse_statements(function: &str, doc: &Value) -> Vec<PermissionSpec> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .map(|st| PermissionSpec {
            function: function.to_string(),
            statement_id: st["Sid"].as_str().unwrap_or_default().to_string(),
            action: first_string(&st["Action"]).unwrap_or_default(),
            principal: match &st["Principal"] {
                Value::Object(p) => p.get("Service").and_then(first_string).unwrap_or_default(),
                other => first_string(other).unwrap_or_default(),
            },
            source_arn: condition(st, "AWS:SourceArn"),
            source_account: condition(st, "AWS:SourceAccount"),
        })
        .collect()
}

fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(|i| i.as_str()).map(str::to_string),
        _ => None,
    }
}

/// The value of condition key `key` (case-insensitive) under any operator (`ArnLike`, `StringEquals`...).
fn condition(st: &Value, key: &str) -> Option<String> {
    st.get("Condition")?.as_object()?.values().find_map(|op| {
        op.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| first_string(v))
    })
}

/// Adds the statement. An add that may have happened already (retried after an attempt whose answer
/// was lost, or answered 409: AWS refuses a statement id that exists) reads the policy and settles it
/// to exactly one statement as wanted ([`settle`]); moto, which keeps a second statement of one id
/// instead of answering 409, is settled the same way.
pub async fn add_permission(c: &Clients, spec: &PermissionSpec) -> Result<(), CallError> {
    let mut conflict = None;
    for round in 0..ADD_ROUNDS {
        if round > 0 && conflict.is_some() {
            // AWS also answers 409 while the function is being updated: wait, then add again.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let attempts = Attempts::new();
        let added = c
            .lambda
            .add_permission()
            .function_name(&spec.function)
            .statement_id(&spec.statement_id)
            .action(&spec.action)
            .principal(&spec.principal)
            .set_source_arn(spec.source_arn.clone())
            .set_source_account(spec.source_account.clone())
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map_err(|e| CallError::new("AddPermission", &spec.function, e));
        match added {
            Ok(_) if !attempts.retried() => return Ok(()),
            Ok(_) => conflict = None,
            Err(e) if e.has_code(CONFLICT) => conflict = Some(e),
            Err(e) => return Err(e),
        }
        let policy = read_policy(c, &spec.function).await?;
        let found: Vec<&PermissionSpec> = policy
            .iter()
            .filter(|s| s.statement_id == spec.statement_id)
            .collect();
        let (remove, done) = match settle(spec, &found) {
            Settle::Keep { remove } => (remove, true),
            Settle::Replace { remove } => (remove, false),
        };
        for _ in 0..remove {
            remove_permission(c, &spec.function, &spec.statement_id).await?;
        }
        if done {
            return Ok(());
        }
    }
    Err(conflict.unwrap_or_else(|| {
        CallError::other(
            "AddPermission",
            &spec.function,
            format!(
                "statement {} is still not as wanted after {ADD_ROUNDS} adds",
                spec.statement_id
            ),
        )
    }))
}

/// How many times [`add_permission`] adds before giving up.
const ADD_ROUNDS: usize = 3;
/// AWS: the statement id exists already (or the function is being updated).
const CONFLICT: &str = "ResourceConflictException";

/// What an add that may have happened already leaves to do, given the statements of its id found live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Every one is as wanted: remove all but one (each `RemovePermission` removes one of the copies
    /// moto keeps; AWS never has more than one).
    Keep { remove: usize },
    /// Missing or not as wanted: remove them all, then add again.
    Replace { remove: usize },
}

/// What to do with the statements of `spec`'s id `found` live after an add that may have happened.
pub fn settle(spec: &PermissionSpec, found: &[&PermissionSpec]) -> Settle {
    if !found.is_empty() && found.iter().all(|s| permission_fields(spec, s).is_empty()) {
        Settle::Keep {
            remove: found.len() - 1,
        }
    } else {
        Settle::Replace {
            remove: found.len(),
        }
    }
}

/// Removes the statement; gone already (or the function gone) is fine.
pub async fn remove_permission(
    c: &Clients,
    function: &str,
    statement_id: &str,
) -> Result<(), CallError> {
    gone(
        c.lambda
            .remove_permission()
            .function_name(function)
            .statement_id(statement_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("RemovePermission", function, e)),
        &[NOT_FOUND],
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statements_read_back_as_lambda_writes_them() {
        let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "chalice-bucket-up", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
             "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
             "Condition": {"StringEquals": {"AWS:SourceAccount": "1"},
                           "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}}},
            {"Sid": "other", "Principal": "*", "Action": ["lambda:GetFunction"]}]});
        let got = parse_statements("f", &doc);
        assert_eq!(
            got[0],
            PermissionSpec {
                function: "f".into(),
                statement_id: "chalice-bucket-up".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "s3.amazonaws.com".into(),
                source_arn: Some("arn:aws:s3:::b".into()),
                source_account: Some("1".into()),
            }
        );
        assert_eq!(got[1].principal, "*");
        assert_eq!(got[1].action, "lambda:GetFunction");
        assert_eq!(got[1].source_arn, None);
        // A single statement as an object is read too.
        let one = json!({"Statement": {"Sid": "s", "Action": "a", "Principal": {"Service": "x"}}});
        assert_eq!(parse_statements("f", &one).len(), 1);
    }

    fn statement(source: &str) -> PermissionSpec {
        PermissionSpec {
            function: "f".into(),
            statement_id: "chalice-bucket-up".into(),
            action: "lambda:InvokeFunction".into(),
            principal: "s3.amazonaws.com".into(),
            source_arn: Some(source.into()),
            source_account: Some("1".into()),
        }
    }

    #[test]
    fn an_add_that_may_have_happened_keeps_exactly_one_statement_as_wanted() {
        let wanted = statement("arn:aws:s3:::b");
        let same = statement("arn:aws:s3:::b");
        let other = statement("arn:aws:s3:::other");
        // The lost attempt made it (AWS's 409 to the retry): nothing to do.
        assert_eq!(settle(&wanted, &[&same]), Settle::Keep { remove: 0 });
        // moto made it twice: one removal leaves one as wanted.
        assert_eq!(settle(&wanted, &[&same, &same]), Settle::Keep { remove: 1 });
        // Someone's statement of this id says something else: replaced.
        assert_eq!(settle(&wanted, &[&other]), Settle::Replace { remove: 1 });
        assert_eq!(
            settle(&wanted, &[&same, &other]),
            Settle::Replace { remove: 2 }
        );
        // A 409 with nothing there (AWS: the function is being updated): added again.
        assert_eq!(settle(&wanted, &[]), Settle::Replace { remove: 0 });
    }
}
