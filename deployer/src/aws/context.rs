//! Resolves the account, region and partition that fill a plan's ARN templates.

pub use chalice_codegen::plan::AwsContext;

use super::{AwsError, Clients};

/// Asks STS who we are (`GetCallerIdentity`) and combines it with the configured region.
///
/// The partition comes from the caller's ARN when it has one (`arn:aws-cn:...`), else from the region.
pub async fn resolve(clients: &Clients) -> Result<AwsContext, AwsError> {
    resolve_caller(clients).await.map(|(ctx, _)| ctx)
}

/// [`resolve`], with the caller's ARN (when STS gave one).
pub async fn resolve_caller(clients: &Clients) -> Result<(AwsContext, Option<String>), AwsError> {
    let region = clients.region().ok_or(AwsError::NoRegion)?.to_owned();
    let identity = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::CallerIdentity(super::causes(&e)))?;
    let account = identity
        .account()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AwsError::CallerIdentity("the answer has no account id".to_owned()))?
        .to_owned();
    let partition = identity
        .arn()
        .and_then(partition_of_arn)
        .map(str::to_owned)
        .unwrap_or_else(|| AwsContext::partition_for_region(&region).to_owned());
    Ok((
        AwsContext {
            partition,
            region,
            account,
        },
        identity.arn().map(str::to_owned),
    ))
}

/// The partition field of an ARN (`arn:PARTITION:...`), if it is one.
pub fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(p)) if !p.is_empty() => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_from_regions() {
        let partition_for_region = AwsContext::partition_for_region;
        assert_eq!(partition_for_region("us-east-1"), "aws");
        assert_eq!(partition_for_region("eu-west-3"), "aws");
        assert_eq!(partition_for_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_for_region("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_for_region("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition_for_region("us-isof-south-1"), "aws-iso-f");
    }

    #[test]
    fn partitions_from_arns() {
        assert_eq!(
            partition_of_arn("arn:aws:iam::123456789012:user/moto"),
            Some("aws")
        );
        assert_eq!(
            partition_of_arn("arn:aws-cn:sts::1:assumed-role/x/y"),
            Some("aws-cn")
        );
        assert_eq!(partition_of_arn("arn::iam::1:user/x"), None);
        assert_eq!(partition_of_arn("not an arn"), None);
        assert_eq!(partition_of_arn(""), None);
    }
}
