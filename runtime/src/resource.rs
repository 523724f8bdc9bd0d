//! What the pipeline's resource says about where the process runs, read
//! when the pipeline is installed, never at compile time: a missing
//! variable leaves its attribute out.
//!
//! Precedence, lowest first: what is read here; then what the SDK reads
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`); then what code sets.

mod container;

use std::time::SystemTime;

use opentelemetry::KeyValue;

/// `spanflow.deployment.variant`: which side of a comparison this process
/// is on (`canary`, `baseline`, ...), for reports that compare them.
pub const DEPLOYMENT_VARIANT: &str = "spanflow.deployment.variant";

/// `spanflow.deployment.start_time`: when the deployment began (RFC 3339,
/// as the deployment tool wrote it).
pub const DEPLOYMENT_START_TIME: &str = "spanflow.deployment.start_time";

/// The environment variables the resource is read from; every name can be
/// changed (`..ResourceEnv::default()` keeps the others).
///
/// ```
/// let env = spanflow::ResourceEnv {
///     pod_name: "MY_POD".into(),
///     ..spanflow::ResourceEnv::default()
/// };
/// let pipeline = spanflow::Pipeline::new().with_resource_env(env);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceEnv {
    /// `deployment.environment.name` (default `DEPLOYMENT_ENVIRONMENT`).
    pub environment: String,
    /// [`DEPLOYMENT_VARIANT`] (default `DEPLOYMENT_VARIANT`).
    pub variant: String,
    /// [`DEPLOYMENT_START_TIME`] (default `DEPLOYMENT_START_TIME`).
    pub start_time: String,
    /// `k8s.namespace.name` (default `POD_NAMESPACE`, from the Downward API).
    pub namespace: String,
    /// `k8s.pod.name` (default `POD_NAME`).
    pub pod_name: String,
    /// `k8s.node.name` (default `NODE_NAME`).
    pub node_name: String,
}

impl Default for ResourceEnv {
    fn default() -> Self {
        ResourceEnv {
            environment: "DEPLOYMENT_ENVIRONMENT".into(),
            variant: "DEPLOYMENT_VARIANT".into(),
            start_time: "DEPLOYMENT_START_TIME".into(),
            namespace: "POD_NAMESPACE".into(),
            pod_name: "POD_NAME".into(),
            node_name: "NODE_NAME".into(),
        }
    }
}

impl ResourceEnv {
    /// The attributes read now: the variables above (empty values count
    /// as unset), `host.name`, `process.pid`, `process.creation.time` (when
    /// the pipeline was installed), `container.id` inside a container
    /// whose id the kernel's files show (`resource/container.rs`) and
    /// `vcs.ref.head.revision` when a commit was captured at build time.
    pub(crate) fn read(&self, git_commit: Option<&'static str>) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("process.pid", i64::from(std::process::id())),
            KeyValue::new("process.creation.time", rfc3339(SystemTime::now())),
        ];
        if let Some(host) = host_name() {
            attributes.push(KeyValue::new("host.name", host));
        }
        if let Some(id) = container::container_id() {
            attributes.push(KeyValue::new("container.id", id));
        }
        let from_env = [
            ("deployment.environment.name", &self.environment),
            (DEPLOYMENT_VARIANT, &self.variant),
            (DEPLOYMENT_START_TIME, &self.start_time),
            ("k8s.namespace.name", &self.namespace),
            ("k8s.pod.name", &self.pod_name),
            ("k8s.node.name", &self.node_name),
        ];
        for (key, variable) in from_env {
            if let Some(value) = std::env::var(variable)
                .ok()
                .filter(|v| !v.trim().is_empty())
            {
                attributes.push(KeyValue::new(key, value));
            }
        }
        if let Some(commit) = git_commit.filter(|commit| !commit.is_empty()) {
            attributes.push(KeyValue::new("vcs.ref.head.revision", commit));
        }
        attributes
    }
}

/// The kernel's host name (`HOSTNAME` is a shell variable, often not
/// exported to services).
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC (civil-from-days, Howard Hinnant's
/// algorithm), to avoid a date crate for one timestamp.
fn rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::rfc3339;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |seconds| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_608_000), "2026-11-25T12:00:00Z");
    }
}
