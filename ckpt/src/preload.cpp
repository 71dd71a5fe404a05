extern "C" void ckpt_placeholder() {}
