//! Checks of the options against the fn they are put on.

use std::collections::HashSet;

use syn::{Error, FnArg, ItemFn, Pat, ReturnType};

use crate::attr::{Options, push};

/// Every misuse at once, each error on the offending token.
pub(crate) fn check(options: &Options, item: &ItemFn) -> syn::Result<()> {
    let mut errors = None;
    let sig = &item.sig;

    if let Some(constness) = &sig.constness {
        push(
            &mut errors,
            Error::new_spanned(
                constness,
                "#[trace] cannot go on a `const fn`: spans are runtime work; remove `const` or the attribute",
            ),
        );
    }
    if let (Some(root), Some((parent, _))) = (&options.root, &options.parent) {
        push(
            &mut errors,
            Error::new_spanned(
                root,
                format!("`root` starts a new trace, so it cannot be combined with `{parent}`"),
            ),
        );
    }
    let params: HashSet<String> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => Some(ident.ident.to_string()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    if let (Some(skip_all), Some((args, _))) = (&options.skip_all, &options.args) {
        push(
            &mut errors,
            Error::new_spanned(
                skip_all,
                format!(
                    "`skip_all` records no argument, so it cannot be combined with `{args}(..)`; remove one"
                ),
            ),
        );
    }
    if let Some((_, skipped)) = &options.skip {
        let recorded: HashSet<String> = options
            .args
            .iter()
            .flat_map(|(_, names)| names.iter().map(ToString::to_string))
            .collect();
        for name in skipped {
            let text = name.to_string();
            if text != "self" && !params.contains(&text) {
                push(
                    &mut errors,
                    Error::new_spanned(
                        name,
                        format!("`{text}` is not an argument of `{}`", sig.ident),
                    ),
                );
            } else if recorded.contains(&text) {
                push(
                    &mut errors,
                    Error::new_spanned(
                        name,
                        format!("`{text}` is both skipped and recorded with `args`; remove one"),
                    ),
                );
            }
        }
    }
    if let Some((_, names)) = &options.args {
        let mut seen = HashSet::new();
        for name in names {
            let text = name.to_string();
            if text == "self" {
                push(
                    &mut errors,
                    Error::new_spanned(
                        name,
                        "`self` cannot be recorded with `args`; record what you need with fields(key = self.expr)",
                    ),
                );
            } else if !params.contains(&text) {
                push(
                    &mut errors,
                    Error::new_spanned(
                        name,
                        format!(
                            "`{text}` is not an argument of `{}` (only arguments bound to a plain name can be recorded)",
                            sig.ident
                        ),
                    ),
                );
            } else if !seen.insert(text.clone()) {
                push(
                    &mut errors,
                    Error::new_spanned(name, format!("argument `{text}` is listed twice")),
                );
            }
        }
    }
    if let Some((_, fields)) = &options.fields {
        let mut seen = HashSet::new();
        let arg_names: HashSet<String> = options
            .args
            .iter()
            .flat_map(|(_, names)| names.iter().map(ToString::to_string))
            .collect();
        for field in fields {
            if !seen.insert(field.key.clone()) || arg_names.contains(&field.key) {
                push(
                    &mut errors,
                    Error::new(
                        field.key_span,
                        format!("the key `{}` is recorded twice", field.key),
                    ),
                );
            }
        }
    }
    if let (Some((err, _)), ReturnType::Default) = (&options.err, &sig.output) {
        push(
            &mut errors,
            Error::new_spanned(
                err,
                "`err` needs a fn that returns a `Result`; this one returns `()`",
            ),
        );
    }
    match errors {
        Some(errors) => Err(errors),
        None => Ok(()),
    }
}
