//! `container.id`, read from the kernel's view of this process, as the
//! OpenTelemetry container detectors of other languages read it (Java's,
//! JavaScript's, Ruby's). No Rust crate of the field has one for
//! OpenTelemetry 0.33 (opentelemetry-resource-detectors reads the host,
//! the OS, the process and Kubernetes variables only), so it is written
//! here: two files, parsed without allocating beyond the id itself.
//!
//! Two places say which container a process runs in:
//! - `/proc/self/cgroup`, where the cgroup's path ends with the container's
//!   id under cgroup v1 (`/docker/<id>`, `/kubepods/.../<id>`, systemd's
//!   `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`)
//!   and under cgroup v2 when the container shares the host's cgroup
//!   namespace;
//! - `/proc/self/mountinfo`, for cgroup v2 with a private namespace (the
//!   default of Docker and Podman there, where the cgroup file says only
//!   `0::/`): the file bind-mounted at `/etc/hostname` comes from the
//!   runtime's directory for the container, named by its id
//!   (`/var/lib/docker/containers/<id>/hostname`,
//!   `.../overlay-containers/<id>/userdata/hostname`).
//!
//! Ids are 64 lowercase hex digits, as Docker, containerd, CRI-O and Podman
//! make them. Under Kubernetes with cgroup v2 neither file names the
//! container (its `/etc/hostname` is the pod sandbox's, which is not taken
//! for the container's); there the Downward API variables of
//! [`ResourceEnv`](crate::ResourceEnv) say which pod it is.

/// The container this process runs in, if the kernel's files say.
pub(crate) fn container_id() -> Option<String> {
    let read = |path| std::fs::read_to_string(path).ok();
    read("/proc/self/cgroup")
        .and_then(|cgroup| from_cgroup(&cgroup).map(str::to_owned))
        .or_else(|| {
            read("/proc/self/mountinfo")
                .and_then(|mountinfo| from_mountinfo(&mountinfo).map(str::to_owned))
        })
}

/// The id nearest the end of a cgroup path of `/proc/self/cgroup`
/// (`hierarchy:controllers:path` lines): usually the last segment, but
/// Podman's `libpod-<id>.scope/container` puts one below it.
fn from_cgroup(cgroup: &str) -> Option<&str> {
    cgroup.lines().find_map(|line| {
        let path = line.splitn(3, ':').nth(2)?;
        path.trim_end().rsplit('/').find_map(|segment| {
            let segment = segment.strip_suffix(".scope").unwrap_or(segment);
            // `docker-<id>`, `cri-containerd-<id>`, `crio-<id>`,
            // `libpod-<id>`, `cri-containerd:<id>`: the id follows the
            // last separator.
            let id = segment.rsplit(['-', ':']).next()?;
            is_container_id(id).then_some(id)
        })
    })
}

/// The id in the runtime's directory of the file mounted at
/// `/etc/hostname` (`/proc/self/mountinfo` lines: the fourth field is the
/// mounted path within its filesystem, the fifth where it is mounted).
fn from_mountinfo(mountinfo: &str) -> Option<&str> {
    mountinfo.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        if mount_point != "/etc/hostname" {
            return None;
        }
        let mut previous = "";
        for segment in root.split('/') {
            // Docker's `containers/<id>`, Podman's `overlay-containers/<id>`;
            // not containerd's `sandboxes/<id>`, a pod's, not a container's.
            if matches!(previous, "containers" | "overlay-containers") && is_container_id(segment) {
                return Some(segment);
            }
            previous = segment;
        }
        None
    })
}

fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a4d0ed1a1ba2b42a1e4d4b8d4b14e7e3f5a3a5b9c7d2e1f0a9b8c7d6e5f4a3b2";

    #[test]
    fn cgroup_v1_paths_of_the_common_runtimes_end_with_the_id() {
        let docker = format!("12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n0::/\n");
        assert_eq!(from_cgroup(&docker), Some(ID));
        let kubernetes = format!(
            "11:devices:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/{ID}\n"
        );
        assert_eq!(from_cgroup(&kubernetes), Some(ID));
        for systemd in [
            format!("1:name=systemd:/system.slice/docker-{ID}.scope"),
            format!("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope"),
            format!("0::/kubepods.slice/kubepods-besteffort.slice/crio-{ID}.scope"),
            format!("0::/machine.slice/libpod-{ID}.scope/container"),
            format!("1:cpu:/system.slice/containerd.service/kubepods-pod1:cri-containerd:{ID}"),
        ] {
            assert_eq!(from_cgroup(&systemd), Some(ID), "{systemd}");
        }
    }

    #[test]
    fn a_process_outside_containers_has_no_id() {
        let host = "12:pids:/user.slice/user-1000.slice/session-2.scope\n0::/init.scope\n";
        assert_eq!(from_cgroup(host), None);
        // A 32-digit name is not a container's id.
        let other = "4:memory:/process_api/b8b81381a2cfeaae5d1225757d5514ba\n0::/\n";
        assert_eq!(from_cgroup(other), None);
        assert_eq!(from_cgroup(""), None);
        assert_eq!(from_cgroup(&format!("{}\n", ID.to_uppercase())), None);
    }

    #[test]
    fn cgroup_v2_namespaces_leave_the_id_in_the_hostname_mount() {
        let docker = format!(
            "1038 1034 0:52 / / rw,relatime - overlay overlay rw\n\
             1052 1038 254:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw\n\
             1053 1038 254:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(from_mountinfo(&docker), Some(ID));
        let podman = format!(
            "884 866 0:45 /containers/storage/overlay-containers/{ID}/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw\n"
        );
        assert_eq!(from_mountinfo(&podman), Some(ID));
    }

    #[test]
    fn a_pod_sandbox_or_another_mount_is_not_taken_for_the_container() {
        let sandbox = format!(
            "3302 3290 254:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(from_mountinfo(&sandbox), None);
        let elsewhere = format!(
            "1052 1038 254:1 /var/lib/docker/containers/{ID}/hostname /mnt/hostname rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(from_mountinfo(&elsewhere), None);
        assert_eq!(from_mountinfo("short line\n"), None);
    }
}
