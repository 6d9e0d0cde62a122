"""Transforms a SAM template (YAML, argv[1]) into CloudFormation JSON on stdout, offline, with
aws-sam-translator (what `sam deploy` and CloudFormation's AWS::Serverless transform run). Managed
policies are never looked up: the template gives every function its own role."""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


# The pseudo parameters (AWS::Region, ...) stay intrinsics in the output; the translator still wants a region.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
# What `sam package` / `sam deploy` do first: upload each local CodeUri and name it by its S3 URI.
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties") or {}
    uri = props.get("CodeUri")
    if resource.get("Type") == "AWS::Serverless::Function" and isinstance(uri, str) and not uri.startswith("s3://"):
        props["CodeUri"] = "s3://sam-cli-packaged-artifacts/" + uri
print(json.dumps(transform(template, {}, NoManagedPolicies()), indent=2, sort_keys=True))
