// The allocator of stompwire.wasm (linked with -sMALLOC=none): segregated free lists over memory.grow,
// in place of emmalloc (~2.2 KB of wasm plus the heap walk behind mallinfo; this one is ~0.4 KB).
//
// Each block has an 8-byte header (its size, and the free-list link while it is free, its class while in
// use) and a class size:
// 8-byte steps up to 32 bytes, then 4 steps per power of two (40, 48, 56, 64, 80, 96, 112, 128, 160, ...),
// so a block wastes at most 25% (plus the header). A freed block goes to its class's list and is reused
// for the next request of that class; blocks are neither split nor merged, and memory, once grown, stays
// (as with every wasm allocator: linear memory cannot shrink). What the client allocates is a small set
// of recurring sizes (frames, headers, listeners, timers), which is where this works well; the bump
// pointer serves each class's first blocks. The module is single-threaded: no locks.
//
// sw_heap_used() reports the bytes of the blocks in use (headers included), counted on each malloc/free.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

extern "C" unsigned char __heap_base;  // from wasm-ld: the first byte after the data and the stack

namespace {

struct Block {
  std::uint32_t size;  // of the block, header included
  union {
    Block* next;         // while free
    std::uint32_t cls;   // while in use: its class (free() needs no classOf)
  };
};
static_assert(sizeof(Block) == 8, "the header keeps payloads 8-aligned (alignof(max_align_t) in wasm32)");

constexpr unsigned kClasses = 128;  // 4 per power of two up to 2^31
Block* freeLists[kClasses];
// The bump pointer: from it to the end of memory is grown memory nobody uses yet. wasm-ld aligns
// __heap_base to 16 and every block size is a multiple of 8, so it stays 8-aligned.
unsigned char* top = &__heap_base;
std::size_t inUse;

// The class of a block of at least `total` bytes (a multiple of 8, >= 8), and that class's size. 8 is
// n = 0's block, a bare header in a class of its own (11; 16 is 15): still a distinct block.
unsigned classOf(std::uint32_t total, std::uint32_t& size) {
  const std::uint32_t m = total - 1;
  const unsigned k = 31 - static_cast<unsigned>(__builtin_clz(m));  // 2^k <= m < 2^(k+1), k >= 2
  const unsigned shift = k - 2;
  const std::uint32_t q = m >> shift;  // 4..7
  size = (q + 1) << shift;
  return 4 * k + q - 4;
}

void* allocate(std::size_t n) {
  if (n > 0x7fff0000u) return nullptr;
  std::uint32_t size;
  const unsigned c = classOf(static_cast<std::uint32_t>((n + 15) & ~std::size_t{7}), size);
  Block* b = freeLists[c];
  if (b) {
    freeLists[c] = b->next;
  } else {
    const std::uintptr_t room = (__builtin_wasm_memory_size(0) << 16) - reinterpret_cast<std::uintptr_t>(top);
    if (size > room) {
      if (__builtin_wasm_memory_grow(0, (size - room + 0xffff) >> 16) == static_cast<std::size_t>(-1)) return nullptr;
    }
    b = reinterpret_cast<Block*>(top);
    top += size;
    b->size = size;
  }
  b->cls = c;
  inUse += size;  // (a reused block of class c has this size too)
  return reinterpret_cast<unsigned char*>(b) + 8;
}

Block* blockOf(void* p) { return reinterpret_cast<Block*>(static_cast<unsigned char*>(p) - 8); }

void release(void* p) {
  if (!p) return;
  Block* b = blockOf(p);
  const unsigned c = b->cls;
  inUse -= b->size;
  b->next = freeLists[c];
  freeLists[c] = b;
}

}  // namespace

extern "C" {
void* malloc(std::size_t n) { return allocate(n); }
void free(void* p) { release(p); }
void* calloc(std::size_t count, std::size_t n) {
  if (n && count > SIZE_MAX / n) return nullptr;
  void* p = allocate(count * n);
  if (p) std::memset(p, 0, count * n);
  return p;
}
void* realloc(void* p, std::size_t n) {
  if (!p) return allocate(n);
  const std::size_t capacity = blockOf(p)->size - 8;
  if (n <= capacity) return p;
  void* q = allocate(n);
  if (q) {
    std::memcpy(q, p, capacity);
    release(p);
  }
  return q;
}

// libc's strlen reads a word at a time (121 bytes of wasm); here it only measures short literals (header
// names, option names), for which a byte loop is as good (21 bytes).
std::size_t strlen(const char* s) {
  const char* p = s;
  while (*p) ++p;
  return static_cast<std::size_t>(p - s);
}

// libc's memchr aligns its pointer before it reads a word at a time (166 bytes of wasm). WebAssembly loads
// need no alignment: 8 bytes per step from the start while no byte of the word matches (a zero byte of
// w ^ pattern: the has-zero-byte test never misses one), then byte by byte to the first match.
void* memchr(const void* s, int c, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  const std::uint64_t pattern = kOnes * static_cast<unsigned char>(c);
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= pattern;
    if ((w - kOnes) & ~w & (kOnes << 7)) break;
  }
  for (; n; --n, ++p) {
    if (*p == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p);
  }
  return nullptr;
}

// Fatal errors (out of memory, libc++'s checks without exceptions) trap, as this module's own checks do
// (__builtin_trap): libc's abort() would call the WASI import proc_exit, which JS would have to provide.
void abort() { __builtin_trap(); }

// Bytes of the wasm heap in use (allocated and not freed): the leak probe of the tests.
__attribute__((used, visibility("default"), export_name("c"))) double sw_heap_used() { return static_cast<double>(inUse); }
}

// libc++'s operator new loops over the new_handler; this module has none (and no exceptions): out of
// memory aborts, as it did there.
void* operator new(std::size_t n) {
  void* p = allocate(n);  // (n = 0 gets a block of its own too)
  if (!p) std::abort();
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
