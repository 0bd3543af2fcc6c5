// AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW's
// single-tensor path (foreach=False, amsgrad=False, maximize=False) computes
// it, operation for operation, in f32 with the scalars prepared in f64.
//
// Step t = step() + 1 with learning rate lr (an f32, e.g. LearningRate()) and,
// for each parameter p with gradient g and moments m (exp_avg), v (exp_avg_sq):
//
//   scalars (IEEE f64, each rounded once to f32 where marked f32(...)):
//     decay    = f32(1 - f64(lr) * weight_decay)   (skipped for no_decay names)
//     w1       = f32(1 - beta1)
//     beta2f   = f32(beta2),  c2 = f32(1 - beta2),  epsf = f32(eps)
//     bc1      = 1 - Pow(beta1, t),  step_size = f64(lr) / bc1
//     neg_step = f32(-step_size)
//     bc2_sqrt = f32(sqrt(1 - Pow(beta2, t)))
//   Pow(b, t): square-and-multiply over t's bits from the most significant,
//   r = 1; per bit: r = r * r, then r = r * b if the bit is set (f64; a
//   fixed sequence of IEEE multiplications, unlike libm's pow).
//
//   per element, in f32, no fma (torch:                        ):
//     p = p * decay                          param.mul_(1 - lr * wd)
//     m = m + w1 * (g - m)       if w1 < 0.5 exp_avg.lerp_(g, 1 - beta1)
//     m = g - (g - m) * (1 - w1) otherwise   (ATen's lerp, both branches)
//     v = v * beta2f;  v = v + (c2 * g) * g  exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
//     d = SqrtF(v) / bc2_sqrt + epsf         denom = (v.sqrt() / bc2_sqrt).add_(eps)
//     p = p + (neg_step * m) / d             param.addcdiv_(m, denom, value=-step_size)
//
// (torch 2.x writes the first moment as lerp_; 1.13 as mul_(b1).add_(g,
// alpha=1 - b1): the same value up to rounding.) Every element is
// independent, so threads split over elements and results never depend on
// the thread count.
//
// State: the step count and, for every parameter "<name>", tensors
// "<name>.exp_avg" and "<name>.exp_avg_sq" of its shape (zero at step 0, as
// torch initialises them). state() is what a checkpoint saves and the state
// digest covers, beside step().
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/status.h"
#include "model/llama_names.h"

namespace aftune {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  // Parameters without weight decay (torch: a param group with
  // weight_decay 0). HfNoDecayNames gives the Hugging Face Trainer's choice.
  std::set<std::string> no_decay;
};

// kInvalidArgument unless 0 <= beta1 < 1, 0 <= beta2 < 1, eps > 0 and
// weight_decay >= 0, all finite.
Status ValidateAdamWConfig(const AdamWConfig& cfg);

// The names Hugging Face's Trainer exempts from weight decay
// (get_decay_parameter_names): biases and normalisation weights. Here: a name
// containing "bias", "layernorm" or "rmsnorm", or with a dot-separated
// component "norm" or ending in "_norm" (LLaMA: every *_layernorm.weight and
// model.norm.weight; no LoRA tensor).
std::set<std::string> HfNoDecayNames(const TensorMap& params);

std::string ExpAvgName(const std::string& param);    // "<param>.exp_avg"
std::string ExpAvgSqName(const std::string& param);  // "<param>.exp_avg_sq"

// f64 b^t by square-and-multiply, as above. REQUIRES: t >= 0.
double PowBySquaring(double b, int64_t t);

class AdamW {
 public:
  // A fresh optimizer (step 0, zero moments) for the tensors of `params`
  // (the trainable ones: the whole model, a layer-block, or an adapter).
  // REQUIRES: ValidateAdamWConfig(cfg).ok().
  AdamW(AdamWConfig cfg, const TensorMap& params);

  // An optimizer restored from saved state (bytes from outside: checked).
  // kCorruption unless `state` holds exactly the two moments of every tensor
  // of `params`, each of that tensor's shape, and step >= 0;
  // kInvalidArgument for a bad cfg.
  static Result<AdamW> Restore(AdamWConfig cfg, const TensorMap& params, TensorMap state, int64_t step);

  // One optimizer step (t = step() + 1) with learning rate lr, updating
  // *params and the moments in place.
  // REQUIRES: grads and *params hold exactly this optimizer's parameter names,
  // with the same shapes; lr finite.
  void Step(float lr, const TensorMap& grads, TensorMap* params);

  int64_t step() const { return step_; }
  const AdamWConfig& config() const { return cfg_; }
  // The moments, named as above. Valid until the next Step or destruction.
  const TensorMap& state() const { return state_; }

 private:
  AdamW(AdamWConfig cfg, TensorMap state, int64_t step)
      : cfg_(std::move(cfg)), state_(std::move(state)), step_(step) {}
  AdamWConfig cfg_;
  TensorMap state_;
  int64_t step_ = 0;
};

}  // namespace aftune
