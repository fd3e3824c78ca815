//! Work buffers reused from call to call: sized here, so that their
//! capacity is kept and no pass allocates once it has run.

/// `v` as `n` zeros (the type's default), in its own capacity.
pub fn zeroed<T: Clone + Default>(v: &mut Vec<T>, n: usize) {
    v.clear();
    v.resize(n, T::default());
}
