//! Network handles of one invocation: a small slot table with generation counters, so forged,
//! closed and stale handles are all `BAD_HANDLE`.

#![cfg_attr(not(feature = "cap-net"), allow(dead_code))]

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::abi::ErrorCode;
use crate::backend::Connection;

/// Slots are indexed by the low 8 bits of a handle; the generation sits above them.
const SLOT_BITS: u32 = 8;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
/// Generations wrap below this so every handle stays a non-negative `i32`.
const GENERATION_LIMIT: u32 = 1 << (31 - SLOT_BITS);

struct Slot {
    generation: u32,
    connection: Option<Box<dyn Connection>>,
}

/// Open connections, at most `capacity` at once (at most 256).
pub(crate) struct HandleTable {
    slots: Vec<Slot>,
    capacity: usize,
}

impl HandleTable {
    pub(crate) fn new(capacity: usize) -> HandleTable {
        HandleTable {
            slots: Vec::new(),
            capacity: capacity.min(1 << SLOT_BITS),
        }
    }

    fn open(&self) -> usize {
        self.slots.iter().filter(|s| s.connection.is_some()).count()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.open() >= self.capacity
    }

    /// Stores `connection` and returns its handle; `LIMIT` when full.
    pub(crate) fn insert(&mut self, connection: Box<dyn Connection>) -> Result<i32, ErrorCode> {
        if self.is_full() {
            return Err(ErrorCode::Limit);
        }
        let index = match self.slots.iter().position(|s| s.connection.is_none()) {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    connection: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = self.slots.get_mut(index).ok_or(ErrorCode::Limit)?;
        slot.connection = Some(connection);
        let index = u32::try_from(index).map_err(|_| ErrorCode::Limit)?;
        i32::try_from((slot.generation << SLOT_BITS) | index).map_err(|_| ErrorCode::Limit)
    }

    fn slot(&mut self, handle: i32) -> Option<&mut Slot> {
        let handle = u32::try_from(handle).ok()?;
        let index = usize::try_from(handle & SLOT_MASK).ok()?;
        let generation = handle >> SLOT_BITS;
        self.slots
            .get_mut(index)
            .filter(|s| s.generation == generation && s.connection.is_some())
    }

    /// The connection behind `handle`, if it is open.
    pub(crate) fn get_mut(&mut self, handle: i32) -> Option<&mut Box<dyn Connection>> {
        self.slot(handle)?.connection.as_mut()
    }

    /// Closes `handle`; `false` if it was not open.
    pub(crate) fn remove(&mut self, handle: i32) -> bool {
        match self.slot(handle) {
            Some(slot) => {
                slot.connection = None;
                slot.generation = (slot.generation + 1) % GENERATION_LIMIT;
                true
            }
            None => false,
        }
    }

    /// Closes every connection (end of an invocation), keeping generations so old handles stay
    /// invalid.
    pub(crate) fn close_all(&mut self) {
        for slot in &mut self.slots {
            if slot.connection.take().is_some() {
                slot.generation = (slot.generation + 1) % GENERATION_LIMIT;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendError;

    struct Nothing;
    impl Connection for Nothing {
        fn send(&mut self, _: &[u8], _: core::time::Duration) -> Result<usize, BackendError> {
            Ok(0)
        }
        fn recv(&mut self, _: &mut [u8], _: core::time::Duration) -> Result<usize, BackendError> {
            Ok(0)
        }
    }

    #[test]
    fn forged_closed_and_stale_handles_are_rejected() {
        let mut table = HandleTable::new(2);
        let a = table.insert(Box::new(Nothing)).unwrap();
        let b = table.insert(Box::new(Nothing)).unwrap();
        assert_eq!(
            table.insert(Box::new(Nothing)).err(),
            Some(ErrorCode::Limit)
        );
        assert!(table.get_mut(a).is_some());
        assert!(table.get_mut(-1).is_none());
        assert!(table.get_mut(a + 2).is_none());
        assert!(table.remove(a));
        assert!(!table.remove(a));
        let c = table.insert(Box::new(Nothing)).unwrap();
        assert_ne!(a, c, "a reused slot gets a new generation");
        assert!(table.get_mut(a).is_none());
        table.close_all();
        assert!(table.get_mut(b).is_none() && table.get_mut(c).is_none());
    }
}
