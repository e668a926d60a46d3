"""Speed: analytic FLOPs (`keras_vit.flops`, `keras_vit.flop_breakdown`)."""
