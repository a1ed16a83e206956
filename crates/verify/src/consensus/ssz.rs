//! The little SSZ the light client needs, written out: merkleization (hash_tree_root of the few
//! containers involved), Merkle branches, and decoding of fixed and offset-addressed fields.
//! Hand-written because the containers are few and fixed, and every byte is untrusted input:
//! the decoder checks every length and offset and never panics.

use alloy_primitives::B256;
use sha2::{Digest, Sha256};

pub fn hash2(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

/// Roots of all-zero subtrees: ZERO[d] is the root of a zero tree of depth d.
fn zero_hashes() -> &'static [[u8; 32]; 64] {
    static ZERO: std::sync::OnceLock<[[u8; 32]; 64]> = std::sync::OnceLock::new();
    ZERO.get_or_init(|| {
        let mut z = [[0u8; 32]; 64];
        for d in 1..64 {
            z[d] = hash2(&z[d - 1], &z[d - 1]);
        }
        z
    })
}

/// merkleize(chunks, limit): the root of a tree with `limit` leaves (rounded up to a power of
/// two), the first `chunks.len()` of them given, the rest zero.
pub fn merkleize(chunks: &[[u8; 32]], limit: usize) -> [u8; 32] {
    let width = limit.max(chunks.len()).max(1).next_power_of_two();
    let depth = width.trailing_zeros() as usize;
    let zero = zero_hashes();
    let mut layer: Vec<[u8; 32]> = chunks.to_vec();
    for zero_at_depth in &zero[..depth] {
        if layer.len() % 2 == 1 {
            layer.push(*zero_at_depth);
        }
        layer = layer.chunks(2).map(|p| hash2(&p[0], &p[1])).collect();
    }
    layer.first().copied().unwrap_or(zero[depth])
}

pub fn mix_in_length(root: [u8; 32], len: usize) -> [u8; 32] {
    let mut l = [0u8; 32];
    l[..8].copy_from_slice(&(len as u64).to_le_bytes());
    hash2(&root, &l)
}

/// Bytes packed into 32-byte chunks, the last one zero-padded.
pub fn pack(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks(32)
        .map(|c| {
            let mut chunk = [0u8; 32];
            chunk[..c.len()].copy_from_slice(c);
            chunk
        })
        .collect()
}

pub fn u64_root(v: u64) -> [u8; 32] {
    let mut c = [0u8; 32];
    c[..8].copy_from_slice(&v.to_le_bytes());
    c
}

/// is_valid_merkle_branch from the consensus spec, for a generalized index.
pub fn valid_branch(leaf: B256, branch: &[B256], gindex: u64, root: B256) -> bool {
    let depth = 63 - gindex.leading_zeros() as usize;
    if branch.len() != depth {
        return false;
    }
    let index = gindex - (1 << depth);
    let mut value: [u8; 32] = leaf.0;
    for (i, sibling) in branch.iter().enumerate() {
        value = if (index >> i) & 1 == 1 { hash2(&sibling.0, &value) } else { hash2(&value, &sibling.0) };
    }
    B256::from(value) == root
}

/// is_valid_normalized_merkle_branch: a branch sized for a later fork (deeper tree) whose extra
/// leading entries are zero proves the same as the shorter one.
pub fn valid_normalized_branch(leaf: B256, branch: &[B256], gindex: u64, root: B256) -> bool {
    let depth = 63 - gindex.leading_zeros() as usize;
    let Some(extra) = branch.len().checked_sub(depth) else { return false };
    branch[..extra].iter().all(|b| b.is_zero()) && valid_branch(leaf, &branch[extra..], gindex, root)
}

/// Why bytes are not the SSZ object they claim to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed SSZ {what}: {reason}")]
pub struct SszError {
    pub what: &'static str,
    pub reason: String,
}

pub fn err(what: &'static str, reason: impl Into<String>) -> SszError {
    SszError { what, reason: reason.into() }
}

/// A cursor over the fixed part of a container.
#[derive(Debug)]
pub struct Reader<'a> {
    pub what: &'static str,
    pub bytes: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Reader { what, bytes, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], SszError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| err(self.what, format!("needs {n} bytes at {}, has {}", self.pos, self.bytes.len())))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn b256(&mut self) -> Result<B256, SszError> {
        Ok(B256::from_slice(self.take(32)?))
    }

    pub fn u64(&mut self) -> Result<u64, SszError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| err(self.what, "u64"))?))
    }

    pub fn offset(&mut self) -> Result<usize, SszError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().map_err(|_| err(self.what, "offset"))?) as usize)
    }

    pub fn branch(&mut self, depth: usize) -> Result<Vec<B256>, SszError> {
        (0..depth).map(|_| self.b256()).collect()
    }

    /// The variable parts between consecutive offsets; the first offset must end the fixed part.
    pub fn parts(&self, offsets: &[usize]) -> Result<Vec<&'a [u8]>, SszError> {
        if offsets.first() != Some(&self.pos) {
            return Err(err(
                self.what,
                format!("first offset {:?} is not the fixed size {}", offsets.first(), self.pos),
            ));
        }
        let mut ends = offsets[1..].to_vec();
        ends.push(self.bytes.len());
        offsets
            .iter()
            .zip(ends)
            .map(|(&s, e)| {
                if s > e || e > self.bytes.len() {
                    return Err(err(self.what, format!("offsets {s}..{e} out of order or range")));
                }
                Ok(&self.bytes[s..e])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkleize_matches_the_definition() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_eq!(merkleize(&[a], 1), a);
        assert_eq!(merkleize(&[a, b], 2), hash2(&a, &b));
        let z = [0u8; 32];
        assert_eq!(merkleize(&[a, b, a], 4), hash2(&hash2(&a, &b), &hash2(&a, &z)));
        assert_eq!(merkleize(&[], 4), hash2(&hash2(&z, &z), &hash2(&z, &z)));
    }

    #[test]
    fn branches_verify_and_tampering_fails() {
        // A 4-leaf tree: prove leaf 2 (gindex 6).
        let leaves = [[1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]];
        let root = B256::from(merkleize(&leaves, 4));
        let branch = [B256::from(leaves[3]), B256::from(hash2(&leaves[0], &leaves[1]))];
        assert!(valid_branch(B256::from(leaves[2]), &branch, 6, root));
        assert!(!valid_branch(B256::from(leaves[3]), &branch, 6, root), "other leaf");
        assert!(!valid_branch(B256::from(leaves[2]), &branch, 7, root), "other index");
        let padded = [B256::ZERO, branch[0], branch[1]];
        assert!(valid_normalized_branch(B256::from(leaves[2]), &padded, 6, root));
        let dirty = [B256::repeat_byte(1), branch[0], branch[1]];
        assert!(!valid_normalized_branch(B256::from(leaves[2]), &dirty, 6, root));
    }

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new("t", &[1, 2, 3]);
        assert!(r.u64().is_err());
        let mut r = Reader::new("t", &[8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        let o = r.offset().expect("offset");
        assert!(r.parts(&[o, usize::MAX]).is_err());
    }
}
