// Symbol visibility for libmsa-models: its API is marked MSA_MODELS_API, the rest stays hidden.
#pragma once

#define MSA_MODELS_API __attribute__((visibility("default")))
