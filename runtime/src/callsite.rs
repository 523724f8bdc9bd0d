//! Static call-site metadata, one `static` per `#[trace]` site.
//!
//! Everything a span needs to know about where it was opened is decided at
//! compile time, so the hot path copies a pointer instead of building strings.

use std::sync::OnceLock;

/// The kind of a span, mirrored from OpenTelemetry's `SpanKind` so that
/// generated code never names `opentelemetry` types.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SpanKind::Internal`
    Internal,
    /// `SpanKind::Client`
    Client,
    /// `SpanKind::Server`
    Server,
    /// `SpanKind::Producer`
    Producer,
    /// `SpanKind::Consumer`
    Consumer,
}

impl Kind {
    pub(crate) fn to_otel(self) -> opentelemetry::trace::SpanKind {
        use opentelemetry::trace::SpanKind;
        match self {
            Kind::Internal => SpanKind::Internal,
            Kind::Client => SpanKind::Client,
            Kind::Server => SpanKind::Server,
            Kind::Producer => SpanKind::Producer,
            Kind::Consumer => SpanKind::Consumer,
        }
    }
}

/// Where a span's name comes from.
#[doc(hidden)]
#[derive(Debug)]
pub enum Naming {
    /// Given in full (`name = "..."`, or a free fn's own name).
    Fixed {
        /// The span name.
        name: &'static str,
        /// The value of `code.function.name`.
        function: &'static str,
    },
    /// A span an instrumentation library opens for the application's work
    /// (a request, a message): it has no `code.*` attributes, which would
    /// name the library's source rather than the application's.
    Library {
        /// The span name.
        name: &'static str,
    },
    /// A method: the self type is only known inside the fn body, so the
    /// name is resolved once, on the first recorded span, from
    /// `type_name::<Self>()` and cached.
    Method {
        /// The method's identifier.
        method: &'static str,
        /// A span name given with `name = "..."`, if any.
        name: Option<&'static str>,
    },
}

/// Static metadata for one `#[trace]` site.
#[doc(hidden)]
#[derive(Debug)]
pub struct CallSite {
    naming: Naming,
    file: &'static str,
    line: u32,
    kind: Kind,
    resolved: OnceLock<(&'static str, &'static str)>,
}

impl CallSite {
    /// Creates the metadata; `const` so it can live in a `static`.
    pub const fn new(naming: Naming, file: &'static str, line: u32, kind: Kind) -> Self {
        CallSite {
            naming,
            file,
            line,
            kind,
            resolved: OnceLock::new(),
        }
    }

    /// Resolves a method's names from its self type (no-op for fixed names).
    ///
    /// Only called on the recording path; a generic `impl<T> Foo<T>` shares one
    /// `static` between instantiations, which is why generic arguments are
    /// stripped from the type name: every instantiation resolves to the same
    /// names.
    #[inline]
    pub(crate) fn resolve(&'static self, self_type: Option<fn() -> &'static str>) {
        if let (Naming::Method { .. }, Some(self_type)) = (&self.naming, self_type)
            && self.resolved.get().is_none()
        {
            self.resolve_slow(self_type);
        }
    }

    #[cold]
    fn resolve_slow(&self, self_type: fn() -> &'static str) {
        let Naming::Method { method, name } = self.naming else {
            return;
        };
        let path = strip_generics(self_type());
        let short = path.rsplit("::").next().unwrap_or(path);
        let function: &'static str = Box::leak(format!("{path}::{method}").into_boxed_str());
        let span_name: &'static str = match name {
            Some(name) => name,
            None => Box::leak(format!("{short}::{method}").into_boxed_str()),
        };
        let _ = self.resolved.set((span_name, function));
    }

    /// The span name.
    pub(crate) fn name(&self) -> &'static str {
        match self.naming {
            Naming::Fixed { name, .. } | Naming::Library { name } => name,
            Naming::Method { method, name } => self
                .resolved
                .get()
                .map(|(name, _)| *name)
                .or(name)
                .unwrap_or(method),
        }
    }

    /// Whether the span carries `code.function.name`, `code.file.path` and
    /// `code.line.number`: all spans but a library's.
    pub(crate) fn has_code_attributes(&self) -> bool {
        !matches!(self.naming, Naming::Library { .. })
    }

    /// The value of `code.function.name` (empty for a library's span,
    /// which has none).
    pub(crate) fn function(&self) -> &'static str {
        match self.naming {
            Naming::Fixed { function, .. } => function,
            Naming::Library { .. } => "",
            Naming::Method { method, .. } => self
                .resolved
                .get()
                .map(|(_, function)| *function)
                .unwrap_or(method),
        }
    }

    pub(crate) fn file(&self) -> &'static str {
        self.file
    }

    pub(crate) fn line(&self) -> u32 {
        self.line
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }
}

/// `my_crate::Cache<alloc::string::String>` becomes `my_crate::Cache`.
fn strip_generics(type_name: &'static str) -> &'static str {
    match type_name.find('<') {
        Some(at) => &type_name[..at],
        None => type_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static METHOD: CallSite = CallSite::new(
        Naming::Method {
            method: "reserve",
            name: None,
        },
        "src/inventory.rs",
        7,
        Kind::Internal,
    );

    #[test]
    fn method_names_come_from_the_self_type_without_generics() {
        assert_eq!(METHOD.name(), "reserve");
        METHOD.resolve(Some(|| "shop::inventory::Stock<alloc::string::String>"));
        assert_eq!(METHOD.name(), "Stock::reserve");
        assert_eq!(METHOD.function(), "shop::inventory::Stock::reserve");
    }
}
