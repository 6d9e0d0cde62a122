# Custom::ChaliceBucketNotifications: merges this stack's Lambda entries (by Id) into a bucket's
# notification configuration it does not own, keeping every other entry; on delete removes only its own.
import json
import urllib.request


def merge(config, remove_ids, entries):
    out = {}
    for key, value in config.items():
        if key == "ResponseMetadata":
            continue
        if key == "LambdaFunctionConfigurations":
            value = [e for e in value if e.get("Id") not in remove_ids]
        out[key] = value
    lambdas = out.get("LambdaFunctionConfigurations", []) + list(entries)
    if lambdas:
        out["LambdaFunctionConfigurations"] = lambdas
    else:
        out.pop("LambdaFunctionConfigurations", None)
    return out


def entry(e):
    rules = [{"Name": n.lower(), "Value": e[n]} for n in ("Prefix", "Suffix") if e.get(n)]
    out = {"Id": e["Id"], "LambdaFunctionArn": e["FunctionArn"], "Events": list(e["Events"])}
    if rules:
        out["Filter"] = {"Key": {"FilterRules": rules}}
    return out


def ids(props):
    return {e["Id"] for e in (props or {}).get("Entries", [])}


def apply(s3, bucket, remove_ids, entries):
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=merge(config, remove_ids, entries)
    )


def handler(event, context, s3=None):
    props = event["ResourceProperties"]
    bucket = props["Bucket"]
    physical = event.get("PhysicalResourceId") or bucket
    status, reason = "SUCCESS", "ok"
    try:
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        if event["RequestType"] == "Delete":
            try:
                apply(s3, bucket, ids(props), [])
            except Exception as e:
                if "NoSuchBucket" not in str(e):
                    raise
        else:
            old = event.get("OldResourceProperties") or {}
            remove = ids(props) | (ids(old) if old.get("Bucket") == bucket else set())
            apply(s3, bucket, remove, [entry(e) for e in props["Entries"]])
            physical = bucket
    except Exception as e:
        status, reason = "FAILED", str(e)[:800]
    body = json.dumps({
        "Status": status, "Reason": reason, "PhysicalResourceId": physical,
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"], "Data": {},
    }).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    urllib.request.urlopen(request, timeout=30)
    return status
