// Symbol visibility for libmsa-media, the SDK's compiled part (images and text).
#pragma once

#define MSA_MEDIA_API __attribute__((visibility("default")))
