//! IAM policy documents as IAM returns them: URL-encoded JSON (RFC 3986), on AWS and on moto.

use percent_encoding::percent_decode_str;

/// Why a policy document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyDocumentError {
    #[error("the policy document is not UTF-8 once URL-decoded: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    #[error("the policy document is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses a policy document from `GetRole` (`AssumeRolePolicyDocument`) or `GetRolePolicy`
/// (`PolicyDocument`), URL-encoded or not, so it can be compared with the desired one as JSON.
pub fn parse_policy_document(raw: &str) -> Result<serde_json::Value, PolicyDocumentError> {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('{') {
        return Ok(serde_json::from_str(trimmed)?);
    }
    let decoded = percent_decode_str(raw).decode_utf8()?;
    Ok(serde_json::from_str(&decoded)?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_url_encoded_and_plain_documents() {
        // As moto and AWS answer GetRolePolicy.
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let want = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        assert_eq!(parse_policy_document(encoded).unwrap(), want);
        assert_eq!(parse_policy_document(&want.to_string()).unwrap(), want);
        // A `+` is a plus in RFC 3986 encoding, not a space.
        assert_eq!(
            parse_policy_document("%7B%22a%22%3A%22x+y%22%7D").unwrap(),
            json!({"a": "x+y"})
        );
    }

    #[test]
    fn bad_documents_are_errors() {
        assert!(matches!(
            parse_policy_document("%7B%22a%22"),
            Err(PolicyDocumentError::Json(_))
        ));
        assert!(matches!(
            parse_policy_document("%FF%FE"),
            Err(PolicyDocumentError::Utf8(_))
        ));
    }
}
