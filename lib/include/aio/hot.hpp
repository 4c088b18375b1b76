// AIO_HOT marks code on the path from a completion to the next submit: the
// path of every followed line in acat -f. GCC puts such functions (and a
// coroutine's actor and destroy parts) in .text.hot, which the linker packs
// together. After a wake-up each code page not yet in the TLB costs about
// 0.2 us on a VM (measured: 64 cold pages added 12 us to a 70 us
// append-to-reader latency, while 64 cold data pages added nothing), and
// this path otherwise spreads over dozens of pages among CLI11 and fmt.
#pragma once

#define AIO_HOT [[gnu::hot]]
