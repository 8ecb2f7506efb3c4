//! The one event each function gets: what its trigger in `template.yaml` would send.

use serde_json::{Value, json};

/// An SQS batch of one message with `body`.
pub fn sqs(body: &Value, queue: &str) -> Value {
    json!({
        "Records": [{
            "messageId": "6c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
            "receiptHandle": "AQEBbenchmarkReceiptHandle0000000000000000000000==",
            "body": body.to_string(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764831300512",
                "SenderId": "AROA4EXAMPLEROLEID01:mailbridge-bench",
                "ApproximateFirstReceiveTimestamp": "1764831300553"
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
            "awsRegion": "us-east-1"
        }]
    })
}

/// An `EventBridge` schedule's event.
pub fn schedule(rule: &str) -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {}
    })
}

/// An HTTP API (payload 2.0) `GET` of `path` without credentials.
pub fn http_get(path: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "bench.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "fn-bench"
            },
            "requestId": "YmVuY2htYXJr",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1_796_378_400_000_u64
        },
        "isBase64Encoded": false
    })
}
