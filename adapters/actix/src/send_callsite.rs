//! One call site per message type for the send spans.
//!
//! A send span is named after its message (`Reserve send`), which a
//! `static` call site cannot be: a `static` in a generic fn is shared by
//! every message type. Renaming a shared call site's span on each send cost
//! a `format!` and the record's extras box per message; instead each
//! message type gets its own call site, made (and leaked: a few bytes per
//! type, like any `static`) the first time the type is sent, so the span is
//! named when it starts, which also lets head-sampling rules match the name.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use spanflow::__private::{Kind, Naming};
use spanflow::CallSite;

use crate::send::short_type_name;

/// The call site of `M`'s send spans.
pub(crate) fn send_callsite<M: 'static>() -> &'static CallSite {
    thread_local! {
        /// This thread's call sites, searched in order: a thread sends few
        /// message types, and comparing ids beats hashing them.
        static KNOWN: RefCell<Vec<(TypeId, &'static CallSite)>> = const { RefCell::new(Vec::new()) };
    }
    let id = TypeId::of::<M>();
    let known = KNOWN.with_borrow(|known| {
        known
            .iter()
            .find_map(|&(known_id, callsite)| (known_id == id).then_some(callsite))
    });
    known.unwrap_or_else(|| {
        let callsite = shared_callsite::<M>(id);
        KNOWN.with_borrow_mut(|known| known.push((id, callsite)));
        callsite
    })
}

/// The process's call site for `M`, made on the first send of `M` from any
/// thread, so that each type is leaked once.
#[cold]
fn shared_callsite<M>(id: TypeId) -> &'static CallSite {
    static ALL: LazyLock<Mutex<HashMap<TypeId, &'static CallSite>>> =
        LazyLock::new(Default::default);
    let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
    all.entry(id).or_insert_with(|| {
        let name: &'static str =
            Box::leak(format!("{} send", short_type_name::<M>()).into_boxed_str());
        Box::leak(Box::new(CallSite::new(
            Naming::Library { name },
            file!(),
            line!(),
            Kind::Producer,
        )))
    })
}
