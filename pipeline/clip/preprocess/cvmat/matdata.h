// A C view of the one cv::Mat field that GoCV does not expose for every Mat:
// the address of its first pixel, which for a region of interest lies inside
// its parent's buffer.
#ifndef LINESIGHT_CVMAT_MATDATA_H
#define LINESIGHT_CVMAT_MATDATA_H

#ifdef __cplusplus
extern "C" {
#endif

unsigned char *linesight_mat_data(void *mat);

#ifdef __cplusplus
}
#endif

#endif
