//! The token and Permit2 interfaces Airlock reads and decodes, declared once for the simulator
//! and for the proxy's approvals watch.

alloy_sol_types::sol! {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
    event Deposit(address indexed dst, uint256 wad);
    event Withdrawal(address indexed src, uint256 wad);
    function balanceOf(address owner) returns (uint256);
    function allowance(address owner, address spender) returns (uint256);
    function isApprovedForAll(address owner, address operator) returns (bool);
    function getApproved(uint256 tokenId) returns (address);
    function approve(address spender, uint256 amount);
    function setApprovalForAll(address operator, bool approved);
    function symbol() returns (string);
    function decimals() returns (uint8);
}

/// Uniswap's Permit2 (its allowance side).
pub mod permit2 {
    alloy_sol_types::sol! {
        event Approval(address indexed owner, address indexed token, address indexed spender, uint160 amount, uint48 expiration);
        event Permit(address indexed owner, address indexed token, address indexed spender, uint160 amount, uint48 expiration, uint48 nonce);
        function allowance(address user, address token, address spender) returns (uint160 amount, uint48 expiration, uint48 nonce);
        function approve(address token, address spender, uint160 amount, uint48 expiration);
    }
}
