//! What kind of fn `#[trace]` is on, which decides what the span covers.

use syn::{Block, Expr, ItemFn, ReturnType, Stmt, Type, TypeParamBound};

pub(crate) enum Shape {
    /// A plain fn: the span covers the call.
    Sync,
    /// `async fn`: the span covers the body's future.
    AsyncFn,
    /// A fn returning `impl Future`: the span covers the returned future.
    ImplFuture,
    /// The body `#[async_trait]` generates, ending in
    /// `Box::pin(async move { .. })`: the span covers that async block.
    AsyncTrait,
}

pub(crate) fn classify(item: &ItemFn) -> Shape {
    if item.sig.asyncness.is_some() {
        Shape::AsyncFn
    } else if returns_impl_future(&item.sig.output) {
        Shape::ImplFuture
    } else if boxed_async_block(&item.block).is_some() {
        Shape::AsyncTrait
    } else {
        Shape::Sync
    }
}

fn returns_impl_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::ImplTrait(impl_trait) = &**ty else {
        return false;
    };
    impl_trait.bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(bound) => bound
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Future"),
        _ => false,
    })
}

/// The `async move { .. }` inside a tail `Box::pin(async move { .. })`.
pub(crate) fn boxed_async_block(block: &Block) -> Option<&Expr> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut segments = func.path.segments.iter().rev();
    let is_box_pin = segments.next().is_some_and(|s| s.ident == "pin")
        && segments.next().is_some_and(|s| s.ident == "Box");
    if !is_box_pin || call.args.len() != 1 {
        return None;
    }
    match call.args.first() {
        Some(arg @ Expr::Async(async_block)) if async_block.capture.is_some() => Some(arg),
        _ => None,
    }
}

/// Mutable access to the same expression, for rewriting.
pub(crate) fn boxed_async_block_mut(block: &mut Block) -> Option<&mut Expr> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last_mut() else {
        return None;
    };
    call.args.first_mut()
}
