//! Parsing the options of `#[trace(...)]`.

use proc_macro2::{Span, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Ident, LitStr, Token, parenthesized};

/// The options as written, each with the token that introduced it so errors
/// can point there.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<(Ident, LitStr)>,
    pub(crate) kind: Option<(Ident, Kind)>,
    pub(crate) args: Option<(Ident, Vec<Ident>)>,
    pub(crate) fields: Option<(Ident, Vec<Field>)>,
    pub(crate) err: Option<(Ident, Format)>,
    pub(crate) ret: Option<(Ident, Format)>,
    pub(crate) parent: Option<(Ident, Expr)>,
    pub(crate) root: Option<Ident>,
    pub(crate) link: Option<(Ident, Expr)>,
    pub(crate) links: Option<(Ident, Expr)>,
    /// `tracing::instrument`'s `skip(..)`, accepted so that code moving
    /// over keeps compiling: arguments are recorded only when `args` names
    /// them, so it only has its names checked.
    pub(crate) skip: Option<(Ident, Vec<Ident>)>,
    /// `skip_all`, likewise; it rules out `args`.
    pub(crate) skip_all: Option<Ident>,
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Internal,
    Client,
    Server,
    Producer,
    Consumer,
}

impl Kind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Internal => "Internal",
            Kind::Client => "Client",
            Kind::Server => "Server",
            Kind::Producer => "Producer",
            Kind::Consumer => "Consumer",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Display,
    Debug,
}

pub(crate) struct Field {
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Expr,
    pub(crate) format: Option<Format>,
}

const OPTIONS: &str = "name, kind, args, fields, err, ret, parent, root, link, links";

/// What an option of `tracing::instrument` or `fastrace::trace` that
/// spanflow does not take becomes here.
fn instead_of(option: &str) -> Option<&'static str> {
    Some(match option {
        "level" => {
            "spans have no level here: OpenTelemetry keeps or drops whole traces by sampling \
             (Pipeline::with_sampler, OTEL_TRACES_SAMPLER, sampling rules by span name); remove `level`"
        }
        "target" => {
            "spans have no target here: their `code.*` attributes say where they come from; \
             remove `target`"
        }
        "follows_from" => {
            "OpenTelemetry calls these links: write `links = expr` (or `link = expr`)"
        }
        "properties" => "write the span's attributes as fields(key = expr, ...)",
        "short_name" => {
            "the default name is already short (the fn's name, `Type::method` for methods); \
             `name = \"...\"` chooses another"
        }
        "enter_on_poll" => "the span is current on every poll already; remove `enter_on_poll`",
        _ => return None,
    })
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        let mut errors: Option<Error> = None;
        while !input.is_empty() {
            if let Err(error) = options.parse_one(input) {
                push(&mut errors, error);
                // Skip to the next option so every mistake is reported at once.
                while !input.is_empty() && !input.peek(Token![,]) {
                    input.parse::<TokenTree>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(options),
        }
    }
}

impl Options {
    fn parse_one(&mut self, input: ParseStream) -> syn::Result<()> {
        let option = Ident::parse_any(input).map_err(|error| {
            Error::new(
                error.span(),
                format!("expected an option: one of {OPTIONS}"),
            )
        })?;
        match option.to_string().as_str() {
            "name" => {
                input.parse::<Token![=]>()?;
                let name: LitStr = input.parse().map_err(|error| {
                    Error::new(
                        error.span(),
                        "`name` takes a string literal: name = \"orders.reserve\"",
                    )
                })?;
                set(&mut self.name, &option, (option.clone(), name))
            }
            "kind" => {
                input.parse::<Token![=]>()?;
                let value = Ident::parse_any(input)?;
                let kind = match value.to_string().as_str() {
                    "internal" => Kind::Internal,
                    "client" => Kind::Client,
                    "server" => Kind::Server,
                    "producer" => Kind::Producer,
                    "consumer" => Kind::Consumer,
                    _ => {
                        return Err(Error::new_spanned(
                            &value,
                            format!(
                                "unknown span kind `{value}`; expected one of: client, server, producer, consumer, internal"
                            ),
                        ));
                    }
                };
                set(&mut self.kind, &option, (option.clone(), kind))
            }
            "args" => {
                let names = parse_names(input)?;
                if names.is_empty() {
                    return Err(Error::new_spanned(
                        &option,
                        "`args()` names no argument; list them: args(cart_id, user)",
                    ));
                }
                set(&mut self.args, &option, (option.clone(), names))
            }
            "fields" => {
                let content;
                parenthesized!(content in input);
                let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                if fields.is_empty() {
                    return Err(Error::new_spanned(
                        &option,
                        "`fields()` is empty; write fields(key = expr, ...)",
                    ));
                }
                set(
                    &mut self.fields,
                    &option,
                    (option.clone(), fields.into_iter().collect()),
                )
            }
            "err" => {
                let format = parse_format(input, &option, Format::Display)?;
                set(&mut self.err, &option, (option.clone(), format))
            }
            "ret" => {
                let format = parse_format(input, &option, Format::Debug)?;
                set(&mut self.ret, &option, (option.clone(), format))
            }
            "parent" => {
                input.parse::<Token![=]>()?;
                let expr: Expr = input.parse()?;
                set(&mut self.parent, &option, (option.clone(), expr))
            }
            "root" => {
                if !input.is_empty() && !input.peek(Token![,]) {
                    return Err(input.error("`root` takes no value: write `root` alone"));
                }
                set(&mut self.root, &option, option.clone())
            }
            "link" => {
                input.parse::<Token![=]>()?;
                let expr: Expr = input.parse()?;
                set(&mut self.link, &option, (option.clone(), expr))
            }
            "links" => {
                input.parse::<Token![=]>()?;
                let expr: Expr = input.parse()?;
                set(&mut self.links, &option, (option.clone(), expr))
            }
            "skip" => {
                let names = parse_names(input)?;
                set(&mut self.skip, &option, (option.clone(), names))
            }
            "skip_all" => set(&mut self.skip_all, &option, option.clone()),
            other => Err(Error::new_spanned(
                &option,
                match instead_of(other) {
                    Some(instead) => format!("`{option}` is not an option of #[trace]: {instead}"),
                    None => format!("unknown option `{option}`; expected one of: {OPTIONS}"),
                },
            )),
        }
    }
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (key, key_span) = if input.peek(LitStr) {
            let literal: LitStr = input.parse()?;
            (literal.value(), literal.span())
        } else {
            let first = Ident::parse_any(input).map_err(|error| {
                Error::new(
                    error.span(),
                    "expected a field key: an identifier, a dotted name (http.route) or a string",
                )
            })?;
            let mut key = first.to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let part = Ident::parse_any(input)?;
                key.push('.');
                key.push_str(&part.to_string());
            }
            (key, first.span())
        };
        if key.is_empty() {
            return Err(Error::new(key_span, "a field key cannot be empty"));
        }
        input.parse::<Token![=]>().map_err(|error| {
            Error::new(
                error.span(),
                format!("expected `=` and a value after the field key `{key}`"),
            )
        })?;
        let format = if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            Some(Format::Display)
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            Some(Format::Debug)
        } else {
            None
        };
        let value: Expr = input.parse()?;
        Ok(Field {
            key,
            key_span,
            value,
            format,
        })
    }
}

fn parse_format(input: ParseStream, option: &Ident, default: Format) -> syn::Result<Format> {
    if !input.peek(syn::token::Paren) {
        return Ok(default);
    }
    let content;
    parenthesized!(content in input);
    let format = Ident::parse_any(&content)?;
    if !content.is_empty() {
        return Err(content.error("expected `)`"));
    }
    match format.to_string().as_str() {
        "Display" => Ok(Format::Display),
        "Debug" => Ok(Format::Debug),
        _ => Err(Error::new_spanned(
            &format,
            format!("`{option}` records with `Display` or `Debug`, not `{format}`"),
        )),
    }
}

/// A parenthesized list of names: `(a, b)`.
fn parse_names(input: ParseStream) -> syn::Result<Vec<Ident>> {
    let content;
    parenthesized!(content in input);
    let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
    Ok(names.into_iter().collect())
}

fn set<T>(slot: &mut Option<T>, option: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(Error::new_spanned(
            option,
            format!("duplicate option `{option}`: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

pub(crate) fn push(errors: &mut Option<Error>, error: Error) {
    match errors {
        Some(errors) => errors.combine(error),
        None => *errors = Some(error),
    }
}
