"""boto3 side of the S3 delivery tests and benchmark: the independent client.

Usage: s3tool.py ENDPOINT COMMAND [ARGS...]; credentials from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (dummy ones for `setup`, which moto accepts while
INITIAL_NO_AUTH_ACTION_COUNT lasts). Prints one JSON object.

  setup BUCKET            IAM user + policy + access key, bucket with Object Lock
                          (exactly 4 calls: the moto server must allow 4 unauthenticated ones)
  get BUCKET KEY          sha256 and size of the object's bytes (get_object)
  retention BUCKET KEY    the current version's retention (GetObjectRetention, else HeadObject) and version id
  delete BUCKET KEY       try to delete the current version; {"deleted": bool, "error": code}
  head BUCKET KEY         {"exists": bool, "metadata": {...}}
  upload BUCKET KEY FILE PART_SIZE CONCURRENCY   boto3 upload_file, seconds taken
"""
import hashlib
import json
import sys
import time

import boto3
import botocore.config
import botocore.exceptions


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


def main():
    endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    s3 = client("s3", endpoint)
    if command == "setup":
        iam = client("iam", endpoint)
        iam.create_user(UserName="roomd")
        iam.put_user_policy(UserName="roomd", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="roomd")["AccessKey"]
        s3.create_bucket(Bucket=args[0], ObjectLockEnabledForBucket=True)
        out = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    elif command == "get":
        body = s3.get_object(Bucket=args[0], Key=args[1])["Body"]
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        out = {"sha256": digest.hexdigest(), "size": size}
    elif command == "retention":
        head = s3.head_object(Bucket=args[0], Key=args[1])
        try:
            retention = s3.get_object_retention(Bucket=args[0], Key=args[1])["Retention"]
            out = {"mode": retention["Mode"], "until": retention["RetainUntilDate"].isoformat(), "source": "GetObjectRetention"}
        except botocore.exceptions.ClientError:
            # moto 5.2.5's server answers GetObjectRetention with 500 (even for boto3's own
            # put_object_retention); HeadObject reports the same lock state.
            out = {"mode": head.get("ObjectLockMode"), "until": head["ObjectLockRetainUntilDate"].isoformat(), "source": "HeadObject"}
        out["version"] = head.get("VersionId")
    elif command == "delete":
        version = s3.head_object(Bucket=args[0], Key=args[1]).get("VersionId")
        try:
            s3.delete_object(Bucket=args[0], Key=args[1], VersionId=version)
            out = {"deleted": True, "error": None}
        except botocore.exceptions.ClientError as error:
            out = {"deleted": False, "error": error.response["Error"]["Code"]}
    elif command == "head":
        try:
            head = s3.head_object(Bucket=args[0], Key=args[1])
            out = {"exists": True, "metadata": head.get("Metadata", {}), "size": head["ContentLength"]}
        except botocore.exceptions.ClientError as error:
            out = {"exists": False, "error": error.response["Error"]["Code"]}
    elif command == "upload":
        from boto3.s3.transfer import TransferConfig
        part = int(args[3])
        config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=int(args[4]))
        start = time.monotonic()
        s3.upload_file(args[2], args[0], args[1], Config=config)
        out = {"seconds": time.monotonic() - start}
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
