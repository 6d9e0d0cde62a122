//! The invocation context a handler receives: which handler, which function, which request.

use std::time::{Duration, SystemTime};

/// One invocation's context: the handler being served and Lambda's invocation data.
#[derive(Debug, Clone)]
pub struct Context {
    handler: &'static str,
    lambda: lambda_runtime::Context,
}

impl Context {
    /// Wraps Lambda's context for the named handler.
    pub fn new(handler: &'static str, lambda: lambda_runtime::Context) -> Self {
        Context { handler, lambda }
    }

    /// The handler's name as declared in `events.chalice`.
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// The Lambda function's name (`<app>-<stage>-<handler>`).
    pub fn function_name(&self) -> &str {
        &self.lambda.env_config.function_name
    }

    /// The function version being run (`$LATEST` unless published).
    pub fn function_version(&self) -> &str {
        &self.lambda.env_config.version
    }

    /// The memory configured for the function, in MB.
    pub fn memory_mb(&self) -> i32 {
        self.lambda.env_config.memory
    }

    /// Lambda's id for this invocation.
    pub fn request_id(&self) -> &str {
        &self.lambda.request_id
    }

    /// The ARN the function was invoked with (may carry a version or alias).
    pub fn invoked_function_arn(&self) -> &str {
        &self.lambda.invoked_function_arn
    }

    /// The X-Ray trace id, when tracing is active.
    pub fn xray_trace_id(&self) -> Option<&str> {
        self.lambda.xray_trace_id.as_deref()
    }

    /// When Lambda stops this invocation.
    pub fn deadline(&self) -> SystemTime {
        self.lambda.deadline()
    }

    /// Time left before the deadline (zero once it has passed); Chalice's
    /// `get_remaining_time_in_millis`.
    pub fn remaining_time(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// The CloudWatch log group and stream this function writes to.
    pub fn log_group_and_stream(&self) -> (&str, &str) {
        (
            &self.lambda.env_config.log_group,
            &self.lambda.env_config.log_stream,
        )
    }

    /// Lambda's own context, for anything not wrapped here.
    pub fn lambda(&self) -> &lambda_runtime::Context {
        &self.lambda
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn lambda_context(deadline_ms: u64) -> lambda_runtime::Context {
        let config = lambda_runtime::Config {
            function_name: "orders-dev-on_order".into(),
            memory: 256,
            version: "$LATEST".into(),
            log_stream: "stream".into(),
            log_group: "/aws/lambda/orders-dev-on_order".into(),
        };
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "req-1".into();
        ctx.deadline = deadline_ms;
        ctx.invoked_function_arn =
            "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-on_order".into();
        ctx.env_config = Arc::new(config);
        ctx
    }

    #[test]
    fn exposes_invocation_data() {
        let ctx = Context::new("on_order", lambda_context(0));
        assert_eq!(ctx.handler(), "on_order");
        assert_eq!(ctx.function_name(), "orders-dev-on_order");
        assert_eq!(ctx.function_version(), "$LATEST");
        assert_eq!(ctx.memory_mb(), 256);
        assert_eq!(ctx.request_id(), "req-1");
        assert!(ctx.invoked_function_arn().ends_with(":orders-dev-on_order"));
        assert_eq!(ctx.xray_trace_id(), None);
        assert_eq!(
            ctx.log_group_and_stream().0,
            "/aws/lambda/orders-dev-on_order"
        );
    }

    #[test]
    fn remaining_time_counts_down_to_zero() {
        let past = Context::new("h", lambda_context(1_000));
        assert_eq!(past.remaining_time(), Duration::ZERO);
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let future = Context::new("h", lambda_context(now_ms + 60_000));
        let left = future.remaining_time();
        assert!(
            left > Duration::from_secs(50) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }
}
