use crate::{
    engine::{
        TranslationError,
        translator::func::{
            encoder::{BytePos, Pos},
            utils::Reset,
        },
    },
    ir::{BranchOffset, Op},
};
use alloc::vec::Vec;
use core::{
    error::Error as CoreError,
    fmt::{self, Display},
};

/// A reference to an [`Label`].
#[derive(Debug, Copy, Clone, PartialEq, Eq)]
pub struct LabelRef(usize);

impl From<usize> for LabelRef {
    #[inline]
    fn from(value: usize) -> Self {
        Self(value)
    }
}

impl From<LabelRef> for usize {
    #[inline]
    fn from(value: LabelRef) -> Self {
        value.0
    }
}

/// The label registry.
///
/// Allows to allocate new labels pin them and resolve pinned ones.
///
/// pluginhost: a label's users are resolved when it is pinned, not at the end of the function,
/// so the registry holds only the users of labels still unpinned (forward branches out of the
/// blocks open now), not one entry per forward branch of the whole function. Each unpinned
/// label heads a list of its users; resolved users' slots are reused.
#[derive(Debug)]
pub struct LabelRegistry {
    /// Registered labels and their states: pinned or unpinned.
    labels: RegisteredLabels,
    /// Label users that could not be immediately resolved, and free slots.
    users: Vec<LabelUser>,
    /// The first free slot of `users`, or [`NO_USER`].
    free: u32,
}

impl Default for LabelRegistry {
    fn default() -> Self {
        Self {
            labels: RegisteredLabels::default(),
            users: Vec::new(),
            free: NO_USER,
        }
    }
}

/// pluginhost: ends a list of label users (an index of [`LabelRegistry::users`]).
const NO_USER: u32 = u32::MAX;

/// All registered labels.
#[derive(Debug, Default)]
pub struct RegisteredLabels {
    labels: Vec<Label>,
}

/// A label during the Wasmi compilation process.
#[derive(Debug, Copy, Clone)]
pub enum Label {
    /// The label has already been pinned to a particular [`Pos<Op>`].
    Pinned(Pos<Op>),
    /// The label is still unpinned.
    Unpinned {
        /// pluginhost: the first of the label's users (in [`LabelRegistry::users`]), or
        /// [`NO_USER`].
        users: u32,
    },
}

impl Reset for RegisteredLabels {
    fn reset(&mut self) {
        self.labels.clear();
    }
}

impl RegisteredLabels {
    /// Pushes a new [`Label::Unpinned`] to `self` and returns its [`LabelRef`].
    #[inline]
    pub fn push(&mut self) -> LabelRef {
        let index = self.labels.len();
        self.labels.push(Label::Unpinned { users: NO_USER });
        LabelRef::from(index)
    }

    /// Returns a shared reference to the underlying [`Label`].
    #[inline]
    fn get(&self, lref: LabelRef) -> Label {
        self.labels[usize::from(lref)]
    }

    /// Returns an exclusive reference to the underlying [`Label`].
    #[inline]
    fn get_mut(&mut self, lref: LabelRef) -> &mut Label {
        &mut self.labels[usize::from(lref)]
    }
}

/// A user of a label.
#[derive(Debug, Copy, Clone)]
struct LabelUser {
    /// The generic branch source.
    src: BytePos,
    /// The [`BranchOffset`] of `src` that needs to be updated once its label has been pinned.
    pos: Pos<BranchOffset>,
    /// pluginhost: the next user of the same label, or the next free slot, or [`NO_USER`].
    next: u32,
}

/// An error that may occur while operating on the [`LabelRegistry`].
#[derive(Debug, Copy, Clone)]
enum LabelError {
    /// When trying to pin an already pinned [`Label`].
    AlreadyPinned { label: LabelRef, target: Pos<Op> },
}

impl LabelError {
    /// Creates a [`LabelError::AlreadyPinned`] with `label` and `target`.
    #[cold]
    #[inline]
    fn already_pinned(label: LabelRef, target: Pos<Op>) -> Self {
        Self::AlreadyPinned { label, target }
    }
}

impl CoreError for LabelError {}
impl Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyPinned { label, target } => {
                write!(
                    f,
                    "trying to pin already pinned label {label:?} (pinned to {target:?})"
                )
            }
        }
    }
}

impl Reset for LabelRegistry {
    fn reset(&mut self) {
        self.labels.reset();
        self.users.clear();
        self.free = NO_USER;
    }
}

impl LabelRegistry {
    /// Allocates a new unpinned [`Label`].
    pub fn new_label(&mut self) -> LabelRef {
        self.labels.push()
    }

    /// Registers a user of the unpinned label `dst`, resolved when `dst` is pinned.
    ///
    /// pluginhost: does nothing if `dst` is pinned (the caller resolves such a branch at once).
    ///
    /// # Errors
    ///
    /// If `2^32 - 1` users are unresolved: their branches could not all be within the
    /// [`BranchOffset`] range.
    pub fn new_user(
        &mut self,
        dst: LabelRef,
        src: BytePos,
        pos: Pos<BranchOffset>,
    ) -> Result<(), TranslationError> {
        let Label::Unpinned { users: first } = self.labels.get(dst) else {
            return Ok(());
        };
        let user = LabelUser {
            src,
            pos,
            next: first,
        };
        // `NO_USER` is never an index of `users`: its length is below `NO_USER`.
        let index = match self.users.get_mut(self.free as usize) {
            Some(slot) => {
                let index = self.free;
                self.free = slot.next;
                *slot = user;
                index
            }
            None => {
                let index = u32::try_from(self.users.len())
                    .ok()
                    .filter(|&index| index != NO_USER)
                    .ok_or(TranslationError::BranchOffsetOutOfBounds)?;
                self.users.push(user);
                index
            }
        };
        *self.labels.get_mut(dst) = Label::Unpinned { users: index };
        Ok(())
    }

    /// Returns the [`Label`] at `lref`.
    pub fn get_label(&self, lref: LabelRef) -> Label {
        self.labels.get(lref)
    }

    /// Pins the `label` to the given `target` [`Pos<Op>`] and calls `resolve(src, pos)` for each
    /// of its users, which then no longer takes room.
    ///
    /// # Errors
    ///
    /// If `resolve` fails (it is not called again then).
    ///
    /// # Panics
    ///
    /// If the `label` has already been pinned to some other [`Pos<Op>`].
    #[track_caller]
    pub fn pin_label<E>(
        &mut self,
        label: LabelRef,
        target: Pos<Op>,
        resolve: impl FnMut(BytePos, Pos<BranchOffset>) -> Result<(), E>,
    ) -> Result<(), E> {
        let users = match self.pin_label_or_err(label, target) {
            Ok(users) => users,
            Err(error) => panic!("failed to pin label: {error}"),
        };
        self.resolve_users(users, resolve)
    }

    /// Pins the `label` to the given `target` [`Pos<Op>`].
    ///
    /// Returns the first of its users.
    ///
    /// # Errors
    ///
    /// If the `label` has already been pinned to some other [`Pos<Op>`].
    fn pin_label_or_err(&mut self, label: LabelRef, target: Pos<Op>) -> Result<u32, LabelError> {
        let cell = self.labels.get_mut(label);
        match *cell {
            Label::Pinned(pinned) => Err(LabelError::already_pinned(label, pinned)),
            Label::Unpinned { users } => {
                *cell = Label::Pinned(target);
                Ok(users)
            }
        }
    }

    /// Pins the `label` to the given `target` if unpinned, resolving its users as
    /// [`LabelRegistry::pin_label`] does.
    ///
    /// # Note
    ///
    /// Does nothing if the `label` is already pinned.
    pub fn pin_label_if_unpinned<E>(
        &mut self,
        label: LabelRef,
        target: Pos<Op>,
        resolve: impl FnMut(BytePos, Pos<BranchOffset>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.pin_label_or_err(label, target) {
            Ok(users) => self.resolve_users(users, resolve),
            Err(_) => Ok(()),
        }
    }

    /// pluginhost: `true` if an unpinned label has users.
    pub fn has_unresolved_users(&self) -> bool {
        self.labels
            .labels
            .iter()
            .any(|label| matches!(label, Label::Unpinned { users } if *users != NO_USER))
    }

    /// pluginhost: calls `resolve` for each user in the list starting at `first` and frees
    /// their slots.
    fn resolve_users<E>(
        &mut self,
        first: u32,
        mut resolve: impl FnMut(BytePos, Pos<BranchOffset>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut next = first;
        // The list ends at `NO_USER`, which is never an index of `users`.
        while let Some(slot) = self.users.get_mut(next as usize) {
            let LabelUser { src, pos, next: after } = *slot;
            slot.next = self.free;
            self.free = next;
            next = after;
            resolve(src, pos)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_all(
        registry: &mut LabelRegistry,
        label: LabelRef,
        at: usize,
        out: &mut Vec<(usize, usize)>,
    ) {
        registry
            .pin_label(label, Pos::from(BytePos::from(at)), |src, pos| {
                out.push((usize::from(src), usize::from(BytePos::from(pos))));
                Ok::<(), ()>(())
            })
            .unwrap();
    }

    #[test]
    fn users_are_resolved_when_pinned_and_their_slots_reused() {
        let mut registry = LabelRegistry::default();
        let mut resolved = Vec::new();
        // 1000 blocks one after another, each left by two forward branches.
        for block in 0..1000 {
            let label = registry.new_label();
            for user in 0..2 {
                let src = 100 * block + 10 * user;
                let pos = Pos::from(BytePos::from(src + 4));
                registry.new_user(label, BytePos::from(src), pos).unwrap();
            }
            assert!(registry.has_unresolved_users());
            resolved.clear();
            resolve_all(&mut registry, label, 100 * block + 50, &mut resolved);
            resolved.sort();
            assert_eq!(
                resolved,
                [(100 * block, 100 * block + 4), (100 * block + 10, 100 * block + 14)]
            );
            assert!(!registry.has_unresolved_users());
        }
        // Only as many slots as users were unresolved at once.
        assert_eq!(registry.users.len(), 2);
    }

    #[test]
    fn nested_labels_keep_their_own_users() {
        let mut registry = LabelRegistry::default();
        let outer = registry.new_label();
        let inner = registry.new_label();
        let at = |n: usize| BytePos::from(n);
        registry.new_user(outer, at(0), Pos::from(at(1))).unwrap();
        registry.new_user(inner, at(10), Pos::from(at(11))).unwrap();
        registry.new_user(outer, at(20), Pos::from(at(21))).unwrap();
        let mut resolved = Vec::new();
        resolve_all(&mut registry, inner, 30, &mut resolved);
        assert_eq!(resolved, [(10, 11)]);
        assert!(registry.has_unresolved_users());
        // A branch to a pinned label is resolved by the caller: nothing to register.
        registry.new_user(inner, at(40), Pos::from(at(41))).unwrap();
        resolved.clear();
        resolve_all(&mut registry, outer, 50, &mut resolved);
        resolved.sort();
        assert_eq!(resolved, [(0, 1), (20, 21)]);
        assert!(!registry.has_unresolved_users());
        // Pinning a pinned label again is ignored here and resolves nothing.
        registry
            .pin_label_if_unpinned(outer, Pos::from(at(60)), |_, _| Err(()))
            .unwrap();
        assert!(matches!(registry.get_label(outer), Label::Pinned(p) if usize::from(BytePos::from(p)) == 50));
    }

    #[test]
    fn a_failing_resolution_is_reported() {
        let mut registry = LabelRegistry::default();
        let label = registry.new_label();
        let at = BytePos::from(0);
        registry.new_user(label, at, Pos::from(at)).unwrap();
        let result = registry.pin_label(label, Pos::from(at), |_, _| Err("out of bounds"));
        assert_eq!(result, Err("out of bounds"));
    }
}
