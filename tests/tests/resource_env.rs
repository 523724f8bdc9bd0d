//! Deployment and pod metadata on the exported resource, read from the
//! environment when the pipeline installs.

use std::sync::{Arc, Mutex};

use opentelemetry::{Key, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Keeps the resource the pipeline gives its exporter.
#[derive(Debug, Clone, Default)]
struct ResourceProbe(Arc<Mutex<Option<Resource>>>);

impl SpanExporter for ResourceProbe {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.0.lock().unwrap() = Some(resource.clone());
    }
}

fn set(name: &str, value: &str) {
    // SAFETY: this test binary's only test sets its variables before any
    // other thread is started.
    unsafe { std::env::set_var(name, value) };
}

#[test]
fn a_simulated_pod_appears_on_the_resource_and_a_missing_variable_is_left_out() {
    set("POD_NAMESPACE", "shop");
    set("POD_NAME", "checkout-7d9f-x2x4");
    set("DEPLOYMENT_ENVIRONMENT", "production");
    set("DEPLOYMENT_VARIANT", "canary");
    set(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment.name=staging,team=payments",
    );
    // SAFETY: as above.
    unsafe { std::env::remove_var("NODE_NAME") };

    let probe = ResourceProbe::default();
    let _pipeline = spanflow::pipeline!()
        .with_simple_exporter(probe.clone())
        .install()
        .expect("no error for a missing variable");
    let resource = probe.0.lock().unwrap().clone().expect("a resource");
    let get = |key: &'static str| resource.get(&Key::from_static_str(key));

    assert_eq!(get("k8s.namespace.name"), Some(Value::from("shop")));
    assert_eq!(get("k8s.pod.name"), Some(Value::from("checkout-7d9f-x2x4")));
    assert_eq!(get("k8s.node.name"), None, "NODE_NAME is unset");
    assert_eq!(
        get("spanflow.deployment.variant"),
        Some(Value::from("canary"))
    );
    assert_eq!(
        get("deployment.environment.name"),
        Some(Value::from("staging")),
        "OTEL_RESOURCE_ATTRIBUTES is read last and wins"
    );
    assert_eq!(get("team"), Some(Value::from("payments")));
    assert_eq!(get("service.name"), Some(Value::from("spanflow-tests")));
    assert_eq!(
        get("process.pid"),
        Some(Value::I64(i64::from(std::process::id())))
    );
    assert!(get("host.name").is_some());
    assert!(get("process.creation.time").is_some_and(|time| time.as_str().ends_with('Z')));
}
