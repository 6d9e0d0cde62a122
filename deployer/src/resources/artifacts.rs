//! The artifacts bucket the deployer manages (one per account and region, shared by every app) and
//! the code zips in it: every function of a stage runs the same `bootstrap`, uploaded once.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use chalice_codegen::plan::{AwsContext, Plan};
use serde::Serialize;

use super::call::{CallError, gone};
use super::change::{Change, Recorded};
use super::code::CodeDigest;
use super::identity::matches;
use super::identity::{Identity, ResourceKind};
use super::kind::{
    Facts, Record, Resolver, Resource, Scope, Step, StepError, Wanted, removal_if_live,
};
use crate::aws::Clients;

const NO_BUCKET: &str = "NoSuchBucket";

/// The deployer-managed bucket for code zips: one per account and region, shared by every app.
pub fn bucket_name(ctx: &AwsContext) -> String {
    format!("chalice-rs-artifacts-{}-{}", ctx.account, ctx.region)
}

/// Where this stage's code zips live in the artifacts bucket.
pub fn prefix(plan: &Plan) -> String {
    format!("{}/{}/", plan.app, plan.stage)
}

/// The object key of a code zip.
pub fn code_key(plan: &Plan, digest: &CodeDigest) -> String {
    format!("{}bootstrap-{}.zip", prefix(plan), digest.sha256_hex)
}

/// The deployer-managed bucket the code zip is uploaded to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactsBucketSpec {
    pub bucket: String,
    pub region: String,
}

/// One code zip in the artifacts bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeObjectSpec {
    pub bucket: String,
    pub key: String,
    /// Lowercase hex sha256 of the zip.
    pub sha256_hex: String,
    /// The zip itself is not part of the spec (it is large): apply finds it by its key.
    pub size: usize,
}

/// The artifacts bucket as read live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveArtifacts {
    pub bucket_exists: bool,
    /// Keys under the stage's prefix.
    pub keys: BTreeSet<String>,
}

/// The artifacts bucket.
pub struct Bucket;

/// A code zip in the artifacts bucket.
pub struct CodeObject;

/// Created when missing; never updated (a zip's key is its hash).
fn create_if_missing<K: Resource>(
    id: &str,
    identity: Identity,
    live: &K::Store,
    facts: &Facts<'_>,
) -> Vec<Change> {
    match K::exists(&identity, live, facts) {
        Some(false) => vec![Change::new(id, identity, None, super::Action::Create)],
        _ => Vec::new(),
    }
}

impl Resource for Bucket {
    type Spec = ArtifactsBucketSpec;
    type Store = Option<LiveArtifacts>;
    const KIND: ResourceKind = ResourceKind::S3Bucket;
    /// S3 refuses to delete a bucket that holds objects.
    const DELETED_AFTER: &'static [ResourceKind] = &[ResourceKind::S3Object];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::ArtifactsBucket {
            bucket: spec.bucket.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        if r.code.is_empty() {
            return Vec::new();
        }
        vec![(
            "artifacts.bucket".into(),
            ArtifactsBucketSpec {
                bucket: bucket_name(r.ctx),
                region: r.ctx.region.clone(),
            },
        )]
    }

    fn exists(_identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        live.as_ref().map(|a| a.bucket_exists)
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        create_if_missing::<Self>(id, Self::identity(spec), live, facts)
    }

    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        facts: &Facts<'_>,
    ) -> Vec<Change> {
        // Without the code nothing about it is compared; a bucket that existed before is not ours.
        if !wanted.code_known || !rec.owned {
            return Vec::new();
        }
        removal_if_live::<Self>(rec, wanted, live, facts)
    }

    fn adopt(_: &Identity, _: &Self::Store, _facts: &Facts<'_>, _: &AwsContext) -> Option<Record> {
        // Not read on a no-op deploy: recorded when made.
        None
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let Identity::ArtifactsBucket { bucket } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not a bucket",
                change.id
            )));
        };
        if change.is_delete() {
            let gone = delete_bucket_if_empty(step.clients, bucket).await?;
            step.records.forget(&change.identity)?;
            return Ok((!gone).then(|| "kept: it holds other apps' or stages' code".to_string()));
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        create_bucket(step.clients, bucket, &spec.region).await?;
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                created: Some(true),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

impl Resource for CodeObject {
    type Spec = CodeObjectSpec;
    type Store = Option<LiveArtifacts>;
    const KIND: ResourceKind = ResourceKind::S3Object;
    const AFTER: &'static [(ResourceKind, Scope)] = &[(ResourceKind::S3Bucket, Scope::All)];
    /// Not after the functions' deletions: Lambda keeps its own copy of a function's code.
    /// After their creations and updates: a deploy whose function updates fail leaves the zip those
    /// functions still run in the bucket.
    const DELETED_AFTER_WRITES_OF: &'static [ResourceKind] = &[ResourceKind::LambdaFunction];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::CodeObject {
            bucket: spec.bucket.clone(),
            key: spec.key.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let bucket = bucket_name(r.ctx);
        let mut keys = BTreeSet::new();
        let mut out = Vec::new();
        for digest in r.code.values() {
            let key = code_key(r.plan, digest);
            if keys.insert(key.clone()) {
                let short = &digest.sha256_hex[..digest.sha256_hex.len().min(12)];
                out.push((
                    format!("artifacts.code.{short}"),
                    CodeObjectSpec {
                        bucket: bucket.clone(),
                        key,
                        sha256_hex: digest.sha256_hex.clone(),
                        size: digest.size,
                    },
                ));
            }
        }
        out
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::CodeObject { key, .. } = identity else {
            return None;
        };
        live.as_ref()
            .map(|a| a.keys.iter().any(|k| matches(key, k)))
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        create_if_missing::<Self>(id, Self::identity(spec), live, facts)
    }

    /// Every zip the recorded key (or wildcard) finds that is not desired.
    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        _facts: &Facts<'_>,
    ) -> Vec<Change> {
        let Identity::CodeObject { bucket, key } = &rec.identity else {
            return Vec::new();
        };
        if !wanted.code_known {
            return Vec::new();
        }
        match live {
            Some(a) => a
                .keys
                .iter()
                .filter(|k| matches(key, k))
                .map(|k| Identity::CodeObject {
                    bucket: bucket.clone(),
                    key: k.clone(),
                })
                .filter(|identity| !wanted.identities.contains(identity))
                .map(|identity| Change::removed(&rec.key, identity, None))
                .collect(),
            None if !wanted.identities.contains(&rec.identity) => {
                vec![Change::removed(&rec.key, rec.identity.clone(), None)]
            }
            None => Vec::new(),
        }
    }

    fn adopt(_: &Identity, _: &Self::Store, _facts: &Facts<'_>, _: &AwsContext) -> Option<Record> {
        // Not read on a no-op deploy: recorded when made.
        None
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        _spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let Identity::CodeObject { bucket, key } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not a code zip",
                change.id
            )));
        };
        if change.is_delete() {
            delete_object(step.clients, bucket, key).await?;
            step.records.forget(&change.identity)?;
            return Ok(None);
        }
        let zip = step
            .zips
            .get(key)
            .ok_or_else(|| StepError::Internal(format!("no code zip for {key}")))?;
        put_object(step.clients, bucket, key, zip.clone()).await?;
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                physical_id: Some(key.clone()),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

/// Keys under `prefix` in `bucket`; `None` when the bucket does not exist.
pub async fn list_keys(
    c: &Clients,
    bucket: &str,
    prefix: &str,
) -> Result<Option<BTreeSet<String>>, CallError> {
    let mut keys = BTreeSet::new();
    let mut pages =
        c.s3.list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
    while let Some(page) = pages.next().await {
        let out = match page {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::new("ListObjectsV2", bucket, e);
                return if e.has_code(NO_BUCKET) {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
    }
    Ok(Some(keys))
}

/// Creates the artifacts bucket in `region`; one we already own is fine.
pub async fn create_bucket(c: &Clients, bucket: &str, region: &str) -> Result<(), CallError> {
    // us-east-1 takes no location constraint (and refuses one).
    let config = (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    });
    gone(
        c.s3.create_bucket()
            .bucket(bucket)
            .set_create_bucket_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("CreateBucket", bucket, e)),
        &["BucketAlreadyOwnedByYou"],
    )
}

pub async fn put_object(
    c: &Clients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), CallError> {
    c.s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .content_type("application/zip")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("PutObject", &format!("{bucket}/{key}"), e))
}

pub async fn delete_object(c: &Clients, bucket: &str, key: &str) -> Result<(), CallError> {
    gone(
        c.s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteObject", &format!("{bucket}/{key}"), e)),
        &[NO_BUCKET, "NoSuchKey"],
    )
}

/// Deletes the bucket if it is empty; returns whether it is gone (false: others' objects, code zips
/// or deploy locks, keep it). One call: S3 refuses to delete a bucket that holds anything.
pub async fn delete_bucket_if_empty(c: &Clients, bucket: &str) -> Result<bool, CallError> {
    let out =
        c.s3.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| CallError::new("DeleteBucket", bucket, e));
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.has_code(NO_BUCKET) => Ok(true),
        Err(e) if e.has_code("BucketNotEmpty") => Ok(false),
        Err(e) => Err(e),
    }
}
