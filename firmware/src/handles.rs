//! One generic handle table, for shared-memory registrations and for sessions alike.
//!
//! A [`Handle`] is an index and a generation: `generation << 32 | (index + 1)`, never 0, so a
//! stale handle never names a newer object in the same slot. The slots live in a growable
//! vector allocated fallibly from the pool (the table is bounded by memory and an optional
//! cap, not by a constant array); every object is boxed, so its address stays fixed while the
//! vector grows.
//!
//! Locking: one short spin lock guards the slots. It is held only to look a handle up, insert,
//! remove, or change a pin count: never while an object is used. A call that uses an object
//! takes a [`Pin`] (the pin count goes up under the table lock), drops the table lock and then
//! works through `&T`; objects that need exclusive access put their own lock inside `T`
//! (sessions: a `spin::Mutex` that is only ever `try_lock`ed, so a second CPU gets BUSY).
//! Removal is two-phase: [`HandleTable::begin_remove`] refuses with BUSY while any pin is
//! held (the object is in use on another CPU, or held by a paused run) and otherwise hides the
//! slot, so no new pin can be taken; the caller tears the object down outside the lock, then
//! [`HandleTable::finish_remove`] gives the slot back. A hidden slot still counts for
//! [`HandleTable::any`] (shared memory: a range being unmapped still overlaps).

use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use spin::Mutex;
use tzwasm_smc::Status;

/// An opaque handle as the normal world sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle(pub u64);

impl Handle {
    fn new(index: usize, generation: u32) -> Self {
        Handle(u64::from(generation) << 32 | (index as u64 + 1))
    }

    /// The slot index, if the handle can name one at all.
    fn index(self) -> Option<usize> {
        let low = (self.0 & 0xffff_ffff).checked_sub(1)?;
        usize::try_from(low).ok()
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Vacant,
    /// Inserted but not yet published, or being removed: no new pins.
    Hidden,
    Live,
}

struct Slot<T> {
    generation: u32,
    state: State,
    pins: u32,
    object: Option<NonNull<T>>,
}

struct Inner<T> {
    slots: Vec<Slot<T>>,
    /// Occupied slots (live or hidden).
    used: usize,
    /// The generation of the last insert, table-wide: every handle is new even after the slot
    /// vector was given back to the pool (when the table empties).
    generation: u32,
}

/// A table of boxed objects named by [`Handle`]s.
pub struct HandleTable<T> {
    inner: Mutex<Inner<T>>,
    /// Most occupied slots at once (`usize::MAX`: bounded by memory only).
    cap: usize,
}

// SAFETY: the table hands out `&T` to pinned objects on any CPU (T: Sync) and moves owned
// objects between CPUs on insert and removal (T: Send); the raw pointers are owned boxes.
unsafe impl<T: Send + Sync> Sync for HandleTable<T> {}
// SAFETY: as above: the table owns its objects.
unsafe impl<T: Send + Sync> Send for HandleTable<T> {}

/// Why an insert failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError<E> {
    /// The pool could not hold the object or a bigger slot vector.
    OutOfMemory,
    /// The table is at its cap.
    Full,
    /// The caller's check against the live objects refused it.
    Refused(E),
}

/// A pinned object: while it lives, the object cannot be removed (removal answers BUSY).
pub struct Pin<'t, T> {
    table: &'t HandleTable<T>,
    index: usize,
    object: NonNull<T>,
    handle: Handle,
}

// SAFETY: a Pin is a shared reference to a T plus a pin count (decremented under the table's
// lock); it may move between CPUs (a paused run holds one) when T is Sync.
unsafe impl<T: Send + Sync> Send for Pin<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Pin<'_, T> {}

impl<T> Pin<'_, T> {
    /// The handle the object was pinned by.
    pub fn handle(&self) -> Handle {
        self.handle
    }
}

impl<T> core::ops::Deref for Pin<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the object is boxed and stays allocated while its pin count is non-zero:
        // begin_remove refuses a pinned slot, and only finish_remove frees it.
        unsafe { self.object.as_ref() }
    }
}

impl<T> Drop for Pin<'_, T> {
    fn drop(&mut self) {
        let mut inner = self.table.inner.lock();
        if let Some(slot) = inner.slots.get_mut(self.index) {
            slot.pins = slot.pins.saturating_sub(1);
        }
    }
}

/// A slot hidden by [`HandleTable::begin_remove`]: the object, still in the table, to be torn
/// down and handed back with [`HandleTable::finish_remove`].
pub struct Removing<'t, T> {
    table: &'t HandleTable<T>,
    index: usize,
    object: NonNull<T>,
}

impl<T> core::ops::Deref for Removing<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot is hidden with no pins: nobody else can reach the object, and it
        // stays allocated until finish_remove (which consumes self).
        unsafe { self.object.as_ref() }
    }
}

impl<T> core::ops::DerefMut for Removing<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for Deref; a hidden, unpinned slot's object is ours alone.
        unsafe { self.object.as_mut() }
    }
}

/// Boxes `value` without aborting when the pool is exhausted (then the value comes back).
pub fn try_box<T>(value: T) -> Result<NonNull<T>, T> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(NonNull::from(alloc::boxed::Box::leak(
            alloc::boxed::Box::new(value),
        )));
    }
    // SAFETY: the layout has a non-zero size.
    let Some(p) = NonNull::new(unsafe { alloc::alloc::alloc(layout) }.cast::<T>()) else {
        return Err(value);
    };
    // SAFETY: p is a fresh allocation with T's layout.
    unsafe { p.as_ptr().write(value) };
    Ok(p)
}

/// [`try_box`] as a `Box`.
pub fn try_boxed<T>(value: T) -> Result<alloc::boxed::Box<T>, T> {
    // SAFETY: try_box allocates with the global allocator and T's layout, as Box does.
    try_box(value).map(|p| unsafe { alloc::boxed::Box::from_raw(p.as_ptr()) })
}

/// Frees a box made by [`try_box`], returning its value.
///
/// # Safety
/// `p` came from `try_box` and nothing refers to it any more.
unsafe fn unbox<T>(p: NonNull<T>) -> T {
    // SAFETY: try_box allocated it with the global allocator and T's layout (or Box::new for
    // a zero-sized T), exactly what Box::from_raw expects.
    *unsafe { alloc::boxed::Box::from_raw(p.as_ptr()) }
}

impl<T> HandleTable<T> {
    /// An empty table holding at most `cap` objects (`usize::MAX`: memory is the bound).
    pub const fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                used: 0,
                generation: 0,
            }),
            cap,
        }
    }

    /// Inserts `value` if `check` accepts it against every occupied object (under the table
    /// lock, so the check and the insert are one step). The slot is live at once when
    /// `publish` is true; otherwise hidden until [`HandleTable::publish`].
    pub fn insert_checked<E>(
        &self,
        value: T,
        publish: bool,
        check: impl Fn(&T) -> Result<(), E>,
    ) -> Result<Handle, (InsertError<E>, T)> {
        let object = match try_box(value) {
            Ok(o) => o,
            Err(value) => return Err((InsertError::OutOfMemory, value)),
        };
        let mut inner = self.inner.lock();
        let give_back = |object, e| {
            // SAFETY: the box was made above and never shared.
            Err((e, unsafe { unbox(object) }))
        };
        for slot in &inner.slots {
            if let (State::Live | State::Hidden, Some(o)) = (slot.state, slot.object) {
                // SAFETY: an occupied slot's object is allocated until finish_remove, which
                // needs this lock.
                if let Err(e) = check(unsafe { o.as_ref() }) {
                    drop(inner);
                    return give_back(object, InsertError::Refused(e));
                }
            }
        }
        if inner.used >= self.cap {
            drop(inner);
            return give_back(object, InsertError::Full);
        }
        let index = match inner.slots.iter().position(|s| s.state == State::Vacant) {
            Some(i) => i,
            None => {
                if inner.slots.try_reserve(1).is_err() || inner.slots.len() >= u32::MAX as usize {
                    drop(inner);
                    return give_back(object, InsertError::OutOfMemory);
                }
                inner.slots.push(Slot {
                    generation: 0,
                    state: State::Vacant,
                    pins: 0,
                    object: None,
                });
                inner.slots.len() - 1
            }
        };
        let generation = inner.generation.wrapping_add(1).max(1);
        let Some(slot) = inner.slots.get_mut(index) else {
            // Cannot happen: `index` is a vacant slot found above or the one just pushed.
            drop(inner);
            return give_back(object, InsertError::Full);
        };
        slot.generation = generation;
        slot.state = if publish { State::Live } else { State::Hidden };
        slot.pins = 0;
        slot.object = Some(object);
        inner.used += 1;
        inner.generation = generation;
        Ok(Handle::new(index, generation))
    }

    /// Makes room for `n` slots now; false if the pool cannot.
    pub fn reserve(&self, n: usize) -> bool {
        let mut inner = self.inner.lock();
        let extra = n.saturating_sub(inner.slots.len());
        inner.slots.try_reserve_exact(extra).is_ok()
    }

    /// Inserts `value`, live at once.
    pub fn insert(&self, value: T) -> Result<Handle, (InsertError<()>, T)> {
        self.insert_checked(value, true, |_| Ok(()))
    }

    /// Makes a hidden, freshly inserted slot live.
    pub fn publish(&self, handle: Handle) {
        let mut inner = self.inner.lock();
        if let Some(slot) = Self::slot_mut(&mut inner, handle) {
            if slot.state == State::Hidden {
                slot.state = State::Live;
            }
        }
    }

    fn slot_mut(inner: &mut Inner<T>, handle: Handle) -> Option<&mut Slot<T>> {
        let slot = inner.slots.get_mut(handle.index()?)?;
        (slot.state != State::Vacant && slot.generation == handle.generation()).then_some(slot)
    }

    /// Pins the live object `handle` names; `None` for a dead, hidden or forged handle.
    pub fn pin(&self, handle: Handle) -> Option<Pin<'_, T>> {
        let mut inner = self.inner.lock();
        let index = handle.index()?;
        let slot = Self::slot_mut(&mut inner, handle)?;
        if slot.state != State::Live {
            return None;
        }
        let object = slot.object?;
        slot.pins = slot.pins.checked_add(1)?;
        Some(Pin {
            table: self,
            index,
            object,
            handle,
        })
    }

    /// Another pin on what `pin` pins (a paused run keeping its registration).
    pub fn repin<'t>(&'t self, pin: &Pin<'t, T>) -> Option<Pin<'t, T>> {
        let mut inner = self.inner.lock();
        let slot = inner.slots.get_mut(pin.index)?;
        slot.pins = slot.pins.checked_add(1)?;
        Some(Pin {
            table: self,
            index: pin.index,
            object: pin.object,
            handle: pin.handle,
        })
    }

    /// Starts removing `handle`: NO_SUCH_HANDLE if it names nothing live, BUSY while it is
    /// pinned or `busy` says the object is in use. Otherwise the slot is hidden (no new pins)
    /// and the object handed to the caller to tear down.
    pub fn begin_remove(
        &self,
        handle: Handle,
        busy: impl FnOnce(&T) -> bool,
    ) -> Result<Removing<'_, T>, Status> {
        let mut inner = self.inner.lock();
        let index = handle.index().ok_or(Status::NoSuchHandle)?;
        let slot = Self::slot_mut(&mut inner, handle).ok_or(Status::NoSuchHandle)?;
        if slot.state != State::Live {
            return Err(Status::NoSuchHandle);
        }
        let object = slot.object.ok_or(Status::NoSuchHandle)?;
        // SAFETY: the object is allocated while its slot is occupied (we hold the lock).
        if slot.pins > 0 || busy(unsafe { object.as_ref() }) {
            return Err(Status::Busy);
        }
        slot.state = State::Hidden;
        Ok(Removing {
            table: self,
            index,
            object,
        })
    }

    /// Puts a slot whose removal began back in service (the teardown could not finish).
    pub fn abort_remove(&self, r: Removing<'_, T>) {
        let mut inner = self.inner.lock();
        if let Some(slot) = inner.slots.get_mut(r.index) {
            slot.state = State::Live;
        }
    }

    /// Ends a removal: the slot is free again (its generation moves on at the next insert)
    /// and the object is returned, to be dropped outside the table lock.
    pub fn finish_remove(&self, r: Removing<'_, T>) -> T {
        let object = r.object;
        {
            let mut inner = r.table.inner.lock();
            if let Some(slot) = inner.slots.get_mut(r.index) {
                slot.state = State::Vacant;
                slot.object = None;
                slot.pins = 0;
            }
            inner.used = inner.used.saturating_sub(1);
            Self::release_if_empty(&mut inner);
        }
        // SAFETY: the slot was hidden and unpinned, now vacant: nothing refers to the object.
        unsafe { unbox(object) }
    }

    /// Removes a hidden slot made by a non-publishing insert that is given up.
    pub fn remove_unpublished(&self, handle: Handle) -> Option<T> {
        let object = {
            let mut inner = self.inner.lock();
            let slot = Self::slot_mut(&mut inner, handle)?;
            if slot.state != State::Hidden || slot.pins > 0 {
                return None;
            }
            slot.state = State::Vacant;
            let o = slot.object.take()?;
            inner.used = inner.used.saturating_sub(1);
            Self::release_if_empty(&mut inner);
            o
        };
        // SAFETY: the slot was hidden and unpinned, now vacant.
        Some(unsafe { unbox(object) })
    }

    /// An empty table gives its slot vector back to the pool (so the pool's "used" figure is
    /// back at its baseline once everything is closed); the table-wide generation keeps
    /// later handles new. Not while a pin is held (a pin indexes the vector).
    fn release_if_empty(inner: &mut Inner<T>) {
        if inner.used == 0 && inner.slots.iter().all(|s| s.pins == 0) {
            inner.slots = Vec::new();
        }
    }

    /// Whether any occupied object satisfies `f` (under the table lock: keep `f` short).
    pub fn any(&self, f: impl Fn(&T) -> bool) -> bool {
        let inner = self.inner.lock();
        inner.slots.iter().any(|s| {
            // SAFETY: an occupied slot's object is allocated (we hold the lock).
            s.state != State::Vacant && s.object.is_some_and(|o| f(unsafe { o.as_ref() }))
        })
    }

    /// Occupied slots (live or being removed).
    pub fn len(&self) -> usize {
        self.inner.lock().used
    }

    /// True if no slot is occupied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots the vector has room for (tests: an empty table holds none).
    pub fn inner_capacity(&self) -> usize {
        self.inner.lock().slots.capacity()
    }

    /// Total pins held (for tests and invariant checks).
    pub fn pins(&self) -> u64 {
        let inner = self.inner.lock();
        inner.slots.iter().map(|s| u64::from(s.pins)).sum()
    }
}

impl<T> Drop for HandleTable<T> {
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        for slot in &mut inner.slots {
            if let Some(o) = slot.object.take() {
                // SAFETY: the table is being dropped, so no pin (which borrows it) exists.
                drop(unsafe { unbox(o) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_block_removal_and_generations_move_on() {
        let t: HandleTable<u32> = HandleTable::new(usize::MAX);
        let a = t.insert(7).unwrap();
        assert_ne!(a.0, 0);
        let pin = t.pin(a).unwrap();
        assert_eq!(*pin, 7);
        assert_eq!(t.begin_remove(a, |_| false).err(), Some(Status::Busy));
        let again = t.repin(&pin).unwrap();
        drop(pin);
        assert_eq!(t.begin_remove(a, |_| false).err(), Some(Status::Busy));
        drop(again);
        assert_eq!(
            t.begin_remove(a, |v| *v == 7).err(),
            Some(Status::Busy),
            "busy hook"
        );
        let r = t.begin_remove(a, |_| false).unwrap();
        assert!(t.pin(a).is_none(), "no pin on a slot being removed");
        assert!(t.any(|v| *v == 7), "still counted while removed");
        assert_eq!(t.finish_remove(r), 7);
        assert!(t.pin(a).is_none());
        assert_eq!(
            t.begin_remove(a, |_| false).err(),
            Some(Status::NoSuchHandle)
        );
        let b = t.insert(8).unwrap();
        assert_eq!(a.0 & 0xffff_ffff, b.0 & 0xffff_ffff, "slot reused");
        assert_ne!(a, b, "with a new generation");
        assert!(t.pin(a).is_none());
        assert_eq!(*t.pin(b).unwrap(), 8);
        for forged in [0, u64::MAX, b.0 + 1, b.0 ^ (1 << 40)] {
            assert!(t.pin(Handle(forged)).is_none(), "{forged:#x}");
        }
        assert_eq!((t.len(), t.pins()), (1, 0));
    }

    #[test]
    fn hidden_inserts_publish_or_vanish_and_checks_refuse() {
        let t: HandleTable<u32> = HandleTable::new(2);
        let h = t.insert_checked(1, false, |_| Ok::<(), ()>(())).unwrap();
        assert!(t.pin(h).is_none(), "not usable before publish");
        t.publish(h);
        assert!(t.pin(h).is_some());
        let (e, v) = t
            .insert_checked(1, true, |o| if *o == 1 { Err(9) } else { Ok(()) })
            .unwrap_err();
        assert_eq!((e, v), (InsertError::Refused(9), 1), "the value comes back");
        let g = t.insert_checked(2, false, |_| Ok::<(), ()>(())).unwrap();
        assert_eq!(t.insert(3).unwrap_err().0, InsertError::Full);
        assert_eq!(t.remove_unpublished(g), Some(2));
        assert_eq!(t.remove_unpublished(h), None, "published: not this way");
        assert!(t.reserve(100));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn an_empty_table_gives_its_memory_back_and_handles_stay_new() {
        let t: HandleTable<u32> = HandleTable::new(usize::MAX);
        let hs: Vec<Handle> = (0..50).map(|i| t.insert(i).unwrap()).collect();
        for &h in &hs {
            let r = t.begin_remove(h, |_| false).unwrap();
            t.finish_remove(r);
        }
        assert_eq!(t.inner.lock().slots.capacity(), 0, "vector freed");
        let again = t.insert(1).unwrap();
        assert!(hs.iter().all(|&h| h != again), "a handle never repeats");
        assert!(hs.iter().all(|&h| t.pin(h).is_none()));
    }

    #[test]
    fn pins_from_many_threads() {
        let t: &'static HandleTable<u64> = Box::leak(Box::new(HandleTable::new(usize::MAX)));
        let h = t.insert(5).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let p = t.pin(h).unwrap();
                        assert_eq!(*p, 5);
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(t.pins(), 0);
        let r = t.begin_remove(h, |_| false).unwrap();
        assert_eq!(t.finish_remove(r), 5);
        assert!(t.is_empty());
    }
}
