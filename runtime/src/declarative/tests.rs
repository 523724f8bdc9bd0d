use opentelemetry::{Array, KeyValue, Value};

use super::FileSettings;
use crate::config::{HttpInstrumentation, PeerServiceMapping};
use crate::diagnostics::Level;

fn read(text: &str, env: &[(&str, &str)]) -> Result<FileSettings, String> {
    super::parse(text, |name| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
}

fn vars(settings: &FileSettings, names: &[&str]) -> Vec<Option<String>> {
    names.iter().map(|name| settings.var(name)).collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values
        .iter()
        .map(|value| Some((*value).to_owned()))
        .collect()
}

/// The schema's migration example, trace parts: every value a reference
/// with a default.
const MIGRATION: &str = r#"
file_format: "1.0"
disabled: ${OTEL_SDK_DISABLED:-false}
log_level: info
resource:
  attributes:
    - name: service.name
      value: ${OTEL_SERVICE_NAME:-unknown_service}
  attributes_list: ${OTEL_RESOURCE_ATTRIBUTES}
attribute_limits:
  attribute_value_length_limit: ${OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT}
  attribute_count_limit: ${OTEL_ATTRIBUTE_COUNT_LIMIT:-128}
propagator:
  composite_list: ${OTEL_PROPAGATORS:-tracecontext,baggage}
tracer_provider:
  processors:
    - batch:
        schedule_delay: ${OTEL_BSP_SCHEDULE_DELAY:-5000}
        export_timeout: ${OTEL_BSP_EXPORT_TIMEOUT:-30000}
        max_queue_size: ${OTEL_BSP_MAX_QUEUE_SIZE:-2048}
        max_export_batch_size: ${OTEL_BSP_MAX_EXPORT_BATCH_SIZE:-512}
        exporter:
          otlp_http:
            endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}/v1/traces
            tls:
              ca_file: ${OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE}
            compression: ${OTEL_EXPORTER_OTLP_TRACES_COMPRESSION:-gzip}
            timeout: ${OTEL_EXPORTER_OTLP_TRACES_TIMEOUT:-10000}
            headers_list: ${OTEL_EXPORTER_OTLP_TRACES_HEADERS}
  limits:
    attribute_count_limit: ${OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT:-128}
    event_count_limit: ${OTEL_SPAN_EVENT_COUNT_LIMIT:-128}
  sampler:
    parent_based:
      root:
        always_on:
      remote_parent_sampled:
        always_on:
      remote_parent_not_sampled:
        always_off:
meter_provider:
  readers: []
"#;

#[test]
fn the_migration_example_becomes_the_variables_it_stands_for() {
    let settings = read(MIGRATION, &[]).unwrap();
    assert_eq!(
        vars(
            &settings,
            &[
                "OTEL_SDK_DISABLED",
                "OTEL_LOG_LEVEL",
                "OTEL_ATTRIBUTE_COUNT_LIMIT",
                "OTEL_PROPAGATORS",
                "OTEL_TRACES_EXPORTER",
                "OTEL_BSP_SCHEDULE_DELAY",
                "OTEL_BSP_MAX_QUEUE_SIZE",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                "OTEL_SPAN_EVENT_COUNT_LIMIT",
                "OTEL_TRACES_SAMPLER",
            ]
        ),
        some(&[
            "false",
            "info",
            "128",
            "tracecontext,baggage",
            "otlp",
            "5000",
            "2048",
            "http/protobuf",
            "http://localhost:4318/v1/traces",
            "gzip",
            "10000",
            "128",
            "parentbased_always_on",
        ])
    );
    // Unset references leave their properties out.
    for name in [
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_SERVICE_NAME",
    ] {
        assert_eq!(settings.var(name), None, "{name}");
    }
    assert_eq!(
        settings.resource,
        [KeyValue::new("service.name", "unknown_service")]
    );
    assert_eq!(
        settings.path_of("OTEL_BSP_SCHEDULE_DELAY"),
        Some("tracer_provider.processors[0].batch.schedule_delay")
    );
    assert!(
        settings
            .notes
            .iter()
            .any(|(level, note)| *level == Level::Info
                && note.starts_with("meter_provider is not read")),
        "{:?}",
        settings.notes
    );
}

#[test]
fn references_take_the_environment_and_only_in_values() {
    let settings = read(
        MIGRATION,
        &[
            ("OTEL_SERVICE_NAME", "checkout"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "team=payments,service.name=ignored",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        ],
    )
    .unwrap();
    assert_eq!(
        vars(
            &settings,
            &[
                "OTEL_BSP_SCHEDULE_DELAY",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            ]
        ),
        some(&["200", "http://127.0.0.1:9/v1/traces"])
    );
    // The list first, the typed attributes after it (they win).
    assert_eq!(
        settings.resource,
        [
            KeyValue::new("team", "payments"),
            KeyValue::new("service.name", "ignored"),
            KeyValue::new("service.name", "checkout"),
        ]
    );

    let injected = read(
        "file_format: \"1.0\"\n${KEY}: 1\nresource:\n  attributes:\n    - name: a\n      value: ${MAP}\n",
        &[("KEY", "disabled"), ("MAP", "value\nkey: value")],
    )
    .unwrap();
    assert_eq!(
        injected.var("OTEL_SDK_DISABLED"),
        None,
        "keys are not substituted"
    );
    assert_eq!(injected.resource, [KeyValue::new("a", "value\nkey: value")]);
}

#[test]
fn resource_attributes_keep_their_types() {
    let settings = read(
        r#"
file_format: "1.0"
resource:
  attributes:
    - { name: s, value: text }
    - { name: b, value: true, type: bool }
    - { name: i, value: "0x10", type: int }
    - { name: d, value: 1.5, type: double }
    - { name: sa, value: [a, b], type: string_array }
    - { name: ia, value: [1, 2], type: int_array }
    - { name: unset, value: null }
"#,
        &[],
    )
    .unwrap();
    assert_eq!(
        settings.resource,
        [
            KeyValue::new("s", "text"),
            KeyValue::new("b", true),
            KeyValue::new("i", 16),
            KeyValue::new("d", 1.5),
            KeyValue::new(
                "sa",
                Value::Array(Array::String(vec!["a".into(), "b".into()]))
            ),
            KeyValue::new("ia", Value::Array(Array::I64(vec![1, 2]))),
        ]
    );
    let error = read(
        "file_format: \"1.0\"\nresource:\n  attributes:\n    - { name: n, value: many, type: int }\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(error, "resource.attributes[0].value: \"many\" is not a int");
}

#[test]
fn grpc_headers_and_console_read_as_spanflow_names_them() {
    let settings = read(
        r#"
file_format: "1.0"
propagator:
  composite: [tracecontext:, baggage:]
  composite_list: baggage,b3
tracer_provider:
  processors:
    - simple:
        exporter:
          console:
    - batch:
        exporter:
          otlp_grpc:
            endpoint: collector:4317
            tls: { insecure: true }
            headers:
              - { name: Api-Key, value: "a b,c=%" }
              - { name: dropped, value: null }
            headers_list: api-key=old,tenant=blue
  sampler:
    parent_based:
      root:
        trace_id_ratio_based: { ratio: 0.25 }
"#,
        &[],
    )
    .unwrap();
    assert_eq!(
        vars(
            &settings,
            &[
                "OTEL_TRACES_EXPORTER",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "OTEL_PROPAGATORS",
                "OTEL_TRACES_SAMPLER",
                "OTEL_TRACES_SAMPLER_ARG",
            ]
        ),
        some(&[
            "console,otlp",
            "grpc",
            "collector:4317",
            "true",
            "tenant=blue,api-key=a%20b%2Cc%3D%25",
            "tracecontext,baggage,b3",
            "parentbased_traceidratio",
            "0.25",
        ])
    );
}

#[test]
fn no_propagator_and_no_tracer_provider_are_the_schema_defaults() {
    let settings = read("file_format: \"1.0\"\nsurprise: 1\n", &[]).unwrap();
    assert_eq!(
        vars(&settings, &["OTEL_PROPAGATORS", "OTEL_TRACES_EXPORTER"]),
        some(&["none", "none"])
    );
    let warned: Vec<_> = settings
        .notes
        .iter()
        .filter(|(level, _)| *level == Level::Warn)
        .map(|(_, note)| note.as_str())
        .collect();
    assert_eq!(
        warned,
        ["surprise is not a property spanflow knows; it is not read"]
    );
}

#[test]
fn what_spanflow_cannot_do_is_an_error_naming_the_property() {
    let otlp = "batch: { exporter: { otlp_http: } }";
    for (text, expected) in [
        (
            "disabled: false",
            "file_format: missing: the file must say its format, \"1.0\" for instance",
        ),
        (
            "file_format: \"0.3\"",
            "file_format: \"0.3\": spanflow reads the stable schema's files, file_format \"1.x\"",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ batch: { exporter: { zipkin: } } }] }",
            "tracer_provider.processors[0].batch.exporter: spanflow cannot export spans with \"zipkin\"; its exporters are otlp_http, otlp_grpc, otlp_file/development and console",
        ),
        (
            &format!(
                "file_format: \"1.0\"\ntracer_provider: {{ processors: [{{ {otlp} }}, {{ {otlp} }}] }}"
            ),
            "tracer_provider.processors[1].batch.exporter: a second OTLP exporter",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_grpc: } } }] }",
            "tracer_provider.processors[0]: spanflow's OTLP export always batches",
        ),
        (
            &format!(
                "file_format: \"1.0\"\ntracer_provider:\n  processors: [{{ {otlp} }}]\n  sampler: {{ parent_based: {{ remote_parent_not_sampled: {{ always_on: }} }} }}"
            ),
            "tracer_provider.sampler.parent_based.remote_parent_not_sampled: spanflow's parent-based sampler follows the parent's decision",
        ),
        (
            &format!(
                "file_format: \"1.0\"\ntracer_provider:\n  processors: [{{ {otlp} }}]\n  sampler: {{ jaeger_remote/development: {{}} }}"
            ),
            "tracer_provider.sampler: spanflow cannot sample with \"jaeger_remote/development\"",
        ),
        (
            "file_format: \"1.0\"\nlog_level: ${LEVEL:?unset}",
            "log_level: `${LEVEL:?unset}` is not a valid reference",
        ),
        (
            "file_format: \"1.0\"\n---\nfile_format: \"1.0\"",
            "expected one YAML document, found 2",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [] }",
            "tracer_provider.processors: name at least one exporter",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_file/development: { output_stream: \"file:relative.jsonl\" } } } }] }",
            "tracer_provider.processors[0].simple.exporter.otlp_file/development.output_stream: \"file:relative.jsonl\": expected stdout or a file URI with an absolute path",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_file/development: { output_stream: \"file://collector/spans.jsonl\" } } } }] }",
            "tracer_provider.processors[0].simple.exporter.otlp_file/development.output_stream: \"file://collector/spans.jsonl\": names the host \"collector\"; spanflow writes to local files only",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_file/development: { output_stream: stderr } } } }] }",
            "tracer_provider.processors[0].simple.exporter.otlp_file/development.output_stream: \"stderr\": expected stdout or a file URI",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_file/development: { path: /tmp/x } } } }] }",
            "tracer_provider.processors[0].simple.exporter.otlp_file/development.path: not a property of otlp_file/development (output_stream)",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ simple: { exporter: { otlp_file/development: } } }, { simple: { exporter: { otlp_file/development: } } }] }",
            "tracer_provider.processors[1].simple.exporter: a second OTLP file exporter",
        ),
        (
            "file_format: \"1.0\"\ntracer_provider: { processors: [{ batch: { schedule_delay: 100, exporter: { otlp_http: } } }, { batch: { schedule_delay: 200, exporter: { otlp_file/development: } } }] }",
            "tracer_provider.processors[1].batch.schedule_delay: \"200\" differs from tracer_provider.processors[0].batch.schedule_delay: \"100\"",
        ),
        (
            "file_format: \"1.0\"\nresource: { attributes: [{ name: a, vaule: b }] }",
            "resource.attributes[0].vaule: not a property of a resource attribute (name, value, type)",
        ),
    ] {
        let error = read(text, &[]).unwrap_err();
        assert!(error.starts_with(expected), "{text}:\n{error}");
    }
}

/// The schema's recommended starting point (`otel-getting-started.yaml`,
/// file_format 1.1, stable `detection`).
const GETTING_STARTED: &str = r#"
file_format: "1.1"
resource:
  attributes_list: ${OTEL_RESOURCE_ATTRIBUTES}
  detection:
    detectors:
      - service:
      - host:
      - process:
      - container:
propagator:
  composite:
    - tracecontext:
    - baggage:
tracer_provider:
  sampler:
    parent_based:
      root:
        always_on:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}/v1/traces
meter_provider:
  readers:
    - periodic:
        exporter:
          otlp_http:
            endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}/v1/metrics
"#;

#[test]
fn the_getting_started_file_reads_with_its_service_detector() {
    let settings = read(
        GETTING_STARTED,
        &[
            ("OTEL_SERVICE_NAME", "checkout"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-the-list,team=payments",
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        vars(
            &settings,
            &[
                "OTEL_TRACES_EXPORTER",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_PROPAGATORS",
                "OTEL_TRACES_SAMPLER",
            ]
        ),
        some(&[
            "otlp",
            "http://localhost:4318/v1/traces",
            "tracecontext,baggage",
            "parentbased_always_on",
        ])
    );
    let [instance, detected_name, listed_name, team] = settings.resource.as_slice() else {
        panic!("{:?}", settings.resource);
    };
    assert_eq!(instance.key.as_str(), "service.instance.id");
    let uuid = instance.value.as_str();
    assert_eq!(
        (uuid.len(), uuid.chars().filter(|c| *c == '-').count()),
        (36, 4),
        "{uuid}"
    );
    assert_eq!(&uuid[14..15], "4", "a version 4 UUID: {uuid}");
    // Lowest first: the detector's name, then the list's, which wins.
    assert_eq!(detected_name, &KeyValue::new("service.name", "checkout"));
    assert_eq!(listed_name, &KeyValue::new("service.name", "from-the-list"));
    assert_eq!(team, &KeyValue::new("team", "payments"));
    assert!(
        settings
            .notes
            .iter()
            .all(|(level, _)| *level == Level::Info),
        "nothing unknown: {:?}",
        settings.notes
    );
    assert!(
        !settings
            .notes
            .iter()
            .any(|(_, note)| note.contains("detector")),
        "the four detectors are spanflow's: {:?}",
        settings.notes
    );
}

#[test]
fn a_detector_spanflow_does_not_have_is_said() {
    let file = "file_format: \"1.1\"\nresource:\n  detection:\n    detectors:\n      - os:\n";
    let settings = read(file, &[]).unwrap();
    assert!(settings.resource.is_empty(), "{:?}", settings.resource);
    assert!(
        settings
            .notes
            .iter()
            .any(|(_, note)| note.contains("no \"os\" detector")),
        "{:?}",
        settings.notes
    );
}

#[test]
fn the_otlp_file_exporter_names_a_local_file_or_standard_output() {
    let exporter = |processor: &str, options: &str| {
        format!(
            "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - {processor}:\n        exporter:\n          otlp_file/development:{options}\n"
        )
    };
    let export = |text: &str| {
        let settings = read(text, &[]).unwrap();
        let export = settings.otlp_file.clone().expect("an OTLP file export");
        (
            export.path.map(|path| path.to_string_lossy().into_owned()),
            export.batched,
            settings.var("OTEL_TRACES_EXPORTER"),
        )
    };
    let none = Some("none".to_owned());
    assert_eq!(export(&exporter("simple", "")), (None, false, none.clone()));
    assert_eq!(
        export(&exporter("batch", " { output_stream: stdout }")),
        (None, true, none.clone())
    );
    for (uri, path) in [
        ("file:///var/log/spans.jsonl", "/var/log/spans.jsonl"),
        (
            "file://localhost/var/log/spans.jsonl",
            "/var/log/spans.jsonl",
        ),
        ("file:/var/log/spans.jsonl", "/var/log/spans.jsonl"),
        (
            "file:///var/log/my%20spans.jsonl",
            "/var/log/my spans.jsonl",
        ),
    ] {
        assert_eq!(
            export(&exporter(
                "simple",
                &format!(" {{ output_stream: \"{uri}\" }}")
            )),
            (Some(path.to_owned()), false, none.clone()),
            "{uri}"
        );
    }
    let beside_console = format!(
        "{}    - simple:\n        exporter:\n          console:\n",
        exporter("simple", "")
    );
    assert_eq!(
        export(&beside_console),
        (None, false, Some("console".to_owned()))
    );
    let beside_otlp = format!(
        "{}    - batch: {{ exporter: {{ otlp_grpc: }} }}\n",
        exporter("batch", "")
    );
    assert_eq!(export(&beside_otlp), (None, true, Some("otlp".to_owned())));
}

#[test]
fn sensitive_query_keys_are_read_and_other_instrumentation_settings_said() {
    let settings = read(
        r#"
file_format: "1.0"
instrumentation/development:
  general:
    sanitization:
      url:
        sensitive_query_parameters: [token, X-Amz-Signature]
    http:
      client:
        request_captured_headers: [x-tenant]
  java:
    example: {}
"#,
        &[],
    )
    .unwrap();
    assert_eq!(
        settings.sensitive_query_parameters,
        Some(vec!["token".to_owned(), "X-Amz-Signature".to_owned()])
    );
    let said: Vec<&str> = settings
        .notes
        .iter()
        .map(|(_, note)| note.as_str())
        .collect();
    assert!(
        said.iter()
            .any(|note| note.starts_with("instrumentation/development.java")),
        "{said:?}"
    );

    let none = read("file_format: \"1.0\"\n", &[]).unwrap();
    assert_eq!(none.sensitive_query_parameters, None);
    assert_eq!(none.http, HttpInstrumentation::default());
    let empty = read(
        "file_format: \"1.0\"\ninstrumentation/development: { general: { sanitization: { url: { sensitive_query_parameters: [] } } } }",
        &[],
    )
    .unwrap();
    assert_eq!(empty.sensitive_query_parameters, Some(Vec::new()));
    let error = read(
        "file_format: \"1.0\"\ninstrumentation/development: { general: { sanitization: { url: { sensitive_query_parameters: [a, \"\"] } } } }",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        error,
        "instrumentation/development.general.sanitization.url.sensitive_query_parameters[1]: a query key cannot be empty"
    );
}

#[test]
fn http_captured_headers_and_known_methods_are_read_per_side() {
    let settings = read(
        r#"
file_format: "1.0"
instrumentation/development:
  general:
    http:
      client:
        request_captured_headers: [X-Tenant, accept]
        response_captured_headers: [content-type]
        known_methods: [GET, QUERY]
      server:
        request_captured_headers: [x-request-id]
        known_methods: []
        unknown_option: 1
"#,
        &[],
    )
    .unwrap();
    let words = |words: &[&str]| {
        words
            .iter()
            .map(|word| word.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        settings.http.client.request_captured_headers,
        words(&["X-Tenant", "accept"])
    );
    assert_eq!(
        settings.http.client.response_captured_headers,
        words(&["content-type"])
    );
    assert_eq!(
        settings.http.client.known_methods,
        Some(words(&["GET", "QUERY"]))
    );
    assert_eq!(
        settings.http.server.request_captured_headers,
        words(&["x-request-id"])
    );
    assert!(settings.http.server.response_captured_headers.is_empty());
    assert_eq!(settings.http.server.known_methods, Some(Vec::new()));
    let said: Vec<&str> = settings
        .notes
        .iter()
        .map(|(_, note)| note.as_str())
        .collect();
    for note in [
        "instrumentation/development.general.http.server.unknown_option is not a property",
        "instrumentation/development.general.http.server.known_methods: empty",
    ] {
        assert!(
            said.iter().any(|said| said.starts_with(note)),
            "{note} in {said:?}"
        );
    }

    for (list, error) in [
        (
            "server: { request_captured_headers: [x-ok, \"x tenant\"] }",
            "instrumentation/development.general.http.server.request_captured_headers[1]: \"x tenant\" is not a header name: ' ' is not allowed (letters, digits and !#$%&'*+-.^_`|~ are)",
        ),
        (
            "client: { response_captured_headers: [\"\"] }",
            "instrumentation/development.general.http.client.response_captured_headers[0]: a header name cannot be empty",
        ),
        (
            "client: { known_methods: [\"GET/1\"] }",
            "instrumentation/development.general.http.client.known_methods[0]: \"GET/1\" is not a method: '/' is not allowed (letters, digits and !#$%&'*+-.^_`|~ are)",
        ),
        (
            "client: { known_methods: GET }",
            "instrumentation/development.general.http.client.known_methods: expected a list",
        ),
    ] {
        let file = format!(
            "file_format: \"1.0\"\ninstrumentation/development: {{ general: {{ http: {{ {list} }} }} }}"
        );
        assert_eq!(read(&file, &[]).unwrap_err(), error, "{list}");
    }
}

#[test]
fn peer_service_mapping_is_read_with_each_peer_once() {
    let settings = read(
        r#"
file_format: "1.0"
instrumentation/development:
  general:
    peer:
      service_mapping:
        - peer: API.Stripe.com
          service: stripe
        - peer: "10.0.4.7:8443"
          service: ledger
        - peer: 10.0.4.7
          service: ledger-admin
          owner: payments
"#,
        &[],
    )
    .unwrap();
    let expected = [
        ("api.stripe.com", None, "stripe"),
        ("10.0.4.7", Some(8443), "ledger"),
        ("10.0.4.7", None, "ledger-admin"),
    ]
    .map(|(host, port, service)| {
        let peer = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        PeerServiceMapping::new(&peer, service).unwrap()
    });
    assert_eq!(settings.peer_service_mapping, expected);
    assert!(
        settings.notes.iter().any(|(_, note)| note.starts_with(
            "instrumentation/development.general.peer.service_mapping[2].owner is not a property"
        )),
        "{:?}",
        settings.notes
    );
    assert!(
        read("file_format: \"1.0\"\n", &[])
            .unwrap()
            .peer_service_mapping
            .is_empty()
    );

    let path = "instrumentation/development.general.peer.service_mapping";
    for (entries, error) in [
        (
            "[{ peer: stripe.com }]",
            format!(
                "{path}[0]: service is missing: each entry names a peer (a host or IP address, with an optional :port) and the service there"
            ),
        ),
        (
            "[{ peer: \"https://stripe.com\", service: stripe }]",
            format!(
                "{path}[0]: \"https://stripe.com\": a URL or a path is not matched: give the host alone, with an optional :port (api.example.com:8443)"
            ),
        ),
        (
            "[{ peer: a.example, service: a }, { peer: A.example, service: b }]",
            format!("{path}[1]: peer \"A.example\" is listed already, at {path}[0]"),
        ),
        (
            "{ peer: a.example, service: a }",
            format!("{path}: expected a list"),
        ),
    ] {
        let file = format!(
            "file_format: \"1.0\"\ninstrumentation/development: {{ general: {{ peer: {{ service_mapping: {entries} }} }} }}"
        );
        assert_eq!(read(&file, &[]).unwrap_err(), error, "{entries}");
    }
}
