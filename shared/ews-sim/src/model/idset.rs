//! A set of item numbers kept as sorted ranges: what a sync client has been given.
//!
//! Items are numbered in creation order, so a client's set is mostly one long range and its
//! sync state stays small, the way Exchange's own id sets compress.

/// Sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdSet {
    ranges: Vec<(u64, u64)>,
}

impl IdSet {
    /// An empty set.
    pub fn new() -> IdSet {
        IdSet::default()
    }

    /// How many numbers it holds.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a + 1).sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `n` is in the set.
    pub fn contains(&self, n: u64) -> bool {
        self.find(n).is_ok()
    }

    // Ok(index of the range holding n), or Err(index where a range starting at n would go).
    fn find(&self, n: u64) -> Result<usize, usize> {
        self.ranges.binary_search_by(|&(a, b)| {
            if b < n {
                std::cmp::Ordering::Less
            } else if a > n {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
    }

    /// Adds `n`; returns whether it was new.
    pub fn insert(&mut self, n: u64) -> bool {
        let Err(at) = self.find(n) else {
            return false;
        };
        let joins_left = at > 0 && self.ranges[at - 1].1 + 1 == n;
        let joins_right = at < self.ranges.len() && self.ranges[at].0 == n + 1;
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[at - 1].1 = self.ranges[at].1;
                self.ranges.remove(at);
            }
            (true, false) => self.ranges[at - 1].1 = n,
            (false, true) => self.ranges[at].0 = n,
            (false, false) => self.ranges.insert(at, (n, n)),
        }
        true
    }

    /// Removes `n`; returns whether it was there.
    pub fn remove(&mut self, n: u64) -> bool {
        let Ok(at) = self.find(n) else {
            return false;
        };
        let (a, b) = self.ranges[at];
        match (a == n, b == n) {
            (true, true) => {
                self.ranges.remove(at);
            }
            (true, false) => self.ranges[at].0 = n + 1,
            (false, true) => self.ranges[at].1 = n - 1,
            (false, false) => {
                self.ranges[at].1 = n - 1;
                self.ranges.insert(at + 1, (n + 1, b));
            }
        }
        true
    }

    /// Appends the set to `out` as varints: range count, then each range as (gap, length).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.ranges.len() as u64);
        let mut previous_end = 0;
        for &(a, b) in &self.ranges {
            put_varint(out, a - previous_end);
            put_varint(out, b - a);
            previous_end = b;
        }
    }

    /// Reads a set written by [`IdSet::encode`]; `None` if the bytes are not one.
    pub fn decode(input: &mut &[u8]) -> Option<IdSet> {
        let count = get_varint(input)?;
        let mut ranges = Vec::with_capacity(usize::try_from(count.min(1 << 20)).ok()?);
        let mut previous_end = 0u64;
        for i in 0..count {
            let gap = get_varint(input)?;
            // Ranges must be strictly increasing and never adjacent.
            if i > 0 && gap < 2 {
                return None;
            }
            let a = previous_end.checked_add(gap)?;
            let b = a.checked_add(get_varint(input)?)?;
            ranges.push((a, b));
            previous_end = b;
        }
        Some(IdSet { ranges })
    }
}

/// Appends `n` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a LEB128 varint, advancing `input`.
pub fn get_varint(input: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        n |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_and_removes_merge_and_split_ranges() {
        let mut set = IdSet::new();
        for n in [5, 1, 3, 2, 4, 9] {
            assert!(set.insert(n));
        }
        assert!(!set.insert(3));
        assert_eq!(set.ranges, [(1, 5), (9, 9)]);
        assert!(set.remove(3));
        assert!(!set.remove(3));
        assert_eq!(set.ranges, [(1, 2), (4, 5), (9, 9)]);
        assert!(set.remove(9) && set.remove(1));
        assert_eq!(set.ranges, [(2, 2), (4, 5)]);
        assert_eq!(set.len(), 3);
        assert!(set.contains(4) && !set.contains(3));
    }

    #[test]
    fn encoding_round_trips_and_refuses_garbage() {
        let mut set = IdSet::new();
        for n in (1..10_000).filter(|n| n % 97 != 0) {
            set.insert(n);
        }
        let mut bytes = Vec::new();
        set.encode(&mut bytes);
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
        let decoded = IdSet::decode(&mut bytes.as_slice()).unwrap();
        assert_eq!(decoded, set);
        assert!(IdSet::decode(&mut [0x05, 0x01].as_slice()).is_none());
        assert!(IdSet::decode(&mut [0xff; 12].as_slice()).is_none());
    }
}
